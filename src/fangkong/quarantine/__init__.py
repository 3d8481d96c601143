"""Transfer, quarantine and health monitoring: orders, sites, tests, home monitoring."""
