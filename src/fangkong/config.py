"""Settings, read from the environment with the ``FANGKONG_`` prefix.

Every setting is documented in ``docs/configuration.md``; a test keeps the two equal.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("FANGKONG_NOW needs a UTC offset, e.g. 2022-03-23T20:00+08:00")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'fangkong.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
