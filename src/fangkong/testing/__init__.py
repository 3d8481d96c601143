"""Mass nucleic-acid testing: rounds, pooled samples, lab results, coverage, routine testing."""
