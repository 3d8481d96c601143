"""The event lake: append-only streams (venue scans …) as Parquet partitioned by day,
queried through Ibis on DuckDB (default) or PySpark."""
