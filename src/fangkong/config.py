"""Settings, read from the environment with the ``FANGKONG_`` prefix.

Every setting is documented in ``docs/configuration.md``; a test keeps the two equal.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FANGKONG_", extra="ignore")

    home: Path = Field(
        default=Path("var"),
        description="Data directory: the SQLite file, the event lake, exports.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the records store; default: SQLite file in FANGKONG_HOME.",
    )
    policy: str = Field(
        default="national-9",
        description="Active policy edition (national-8, national-9, measures-20, zibo-2022-03).",
    )
    city: str = Field(default="3703", description="Default city (GB/T 2260 code) of UI and CLI.")
    now: datetime | None = Field(
        default=None,
        description="Freeze the clock at this ISO 8601 instant (demo, tests); default: real time.",
    )
    outbreak_start: str | None = Field(
        default=None,
        description="Outbreak start (YYYY-MM-DD) for cumulative figures on the dashboard.",
    )
    case_review: bool = Field(
        default=False,
        description="Hold every case entered by hand (form, API) for review before it counts.",
    )

    secret_key: str = Field(
        default=PLACEHOLDER_SECRET,
        description="Key for hashing session and API token secrets; refused when left as the "
        "placeholder outside the demo.",
    )
    previous_secret_keys: list[str] = Field(
        default_factory=list,
        description="Old secret keys still accepted while sessions and tokens are rotated.",
    )
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only."
    )
    session_hours: float = Field(default=12, gt=0, description="Sign-in session lifetime.")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins before the account is locked."
    )
    login_lock_minutes: float = Field(
        default=15, gt=0, description="How long a locked account stays locked."
    )
    demo: bool = Field(default=False, description="Demo mode: allows the placeholder secret.")
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb", description="Query engine of the event lake."
    )
    spark_master: str = Field(
        default="local[*]", description="Spark master URL when FANGKONG_ENGINE=spark."
    )
    # Operations (docs/operations.md): rate limits, readiness, the proxy in front.
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where rate-limit counters live: memory:// (one process) or a Redis URL.",
    )
    rate_limit_sign_in_ip: str = Field(
        default="30/minute", description="Sign-in attempts per client address."
    )
    rate_limit_sign_in_account: str = Field(
        default="10/minute", description="Sign-in attempts per account name."
    )
    rate_limit_import_caller: str = Field(
        default="20/minute", description="File imports per API token or browser session."
    )
    rate_limit_import_ip: str = Field(
        default="60/minute", description="File imports per client address."
    )
    ready_buffer_max_age: float = Field(
        default=600,
        gt=0,
        description="Seconds the oldest unflushed live scan batch may wait before /readyz "
        "reports the buffer as stuck.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies (comma-separated addresses, or *) whose X-Forwarded-For and "
        "X-Forwarded-Proto `fangkong serve` trusts.",
    )

    # Limits on what a request or a file may hold (docs/security.md).
    upload_max_mb: float = Field(
        default=50,
        gt=0,
        description="Largest request body in MB: a registry file (cases, people, venues, "
        "workplaces, sites), a FHIR bundle, a JSON batch; larger is refused with 413.",
    )
    lake_upload_max_mb: float = Field(
        default=2048,
        gt=0,
        description="Largest scans, samples or results file (read in chunks into the lake) in MB.",
    )
    import_max_rows: int = Field(
        default=1_000_000,
        ge=1,
        description="Most rows a CSV or Excel registry file may have.",
    )
    xlsx_max_unpacked_mb: float = Field(
        default=500,
        gt=0,
        description="Most MB an .xlsx file may unpack to (its entries' declared sizes), "
        "checked before it is parsed.",
    )
    xlsx_max_ratio: float = Field(
        default=200,
        gt=1,
        description="Highest compression ratio of an .xlsx entry; beyond is a zip bomb.",
    )
    import_max_errors: int = Field(
        default=1000,
        ge=1,
        description="Errors an import lists (the first ones); the others are counted.",
    )

    @field_validator(
        "rate_limit_sign_in_ip",
        "rate_limit_sign_in_account",
        "rate_limit_import_caller",
        "rate_limit_import_ip",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate such as 30/minute or 100/hour") from None
        return value

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("FANGKONG_NOW needs a UTC offset, e.g. 2022-03-23T20:00+08:00")
        return value

    def check_secret(self) -> None:
        """Refuse to serve real data with the published placeholder secret."""
        if not self.demo and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError(
                "FANGKONG_SECRET_KEY is the placeholder; set a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if len(self.secret_key) < 16 and not self.demo:
            raise ValueError("FANGKONG_SECRET_KEY must be at least 16 characters")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'fangkong.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
