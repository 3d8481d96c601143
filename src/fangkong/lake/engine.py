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
        return ibis.duckdb.connect()
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
