"""The Ibis connection: DuckDB on one machine, PySpark when a province outgrows it.

Queries are Ibis expressions written once (``tracing/query.py`` …); this module only
chooses the backend. ``FANGKONG_ENGINE`` = ``duckdb`` (default) or ``spark``;
``FANGKONG_SPARK_MASTER`` = ``local[*]`` (default) or a cluster URL.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import ibis
from ibis.backends import BaseBackend

from fangkong.errors import InvalidInput

ENGINES = ("duckdb", "spark")


def connect(engine: str = "duckdb", *, spark_master: str = "local[*]") -> BaseBackend:
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        # A visible lake file never changes (lake/writer.py), so its footer can be kept:
        # parsing the statistics of thousands of small row groups is most of a small query.
        con.raw_sql("SET parquet_metadata_cache = true")
        # A join with up to this many distinct keys on its small side passes them to the
        # scan of the large side as a filter, which skips row groups by their statistics
        # (tracing/query.py joins a day's scans with a few hundred venues; default 50).
        con.raw_sql("SET dynamic_or_filter_threshold = 4096")
        return con
    if engine == "spark":
        return ibis.pyspark.connect(spark_session(spark_master))
    raise InvalidInput(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")


@lru_cache
def spark_session(master: str) -> Any:
    """One Spark session per process (starting one takes seconds). Timestamps are read
    and compared in UTC, as the lake stores them."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master)
        .appName("fangkong")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
