"""Running fangkong: health and readiness checks, backup and restore."""
