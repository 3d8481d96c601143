"""Case registry, daily statistics and the daily bulletin."""
