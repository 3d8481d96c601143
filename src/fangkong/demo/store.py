"""Where the demo keeps its store, and pointing any command at it (``fangkong --demo``).

Light on purpose: the CLI's root reads it before any command runs, so it imports only the
settings."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

from fangkong.clock import LOCAL_TZ
from fangkong.config import Settings, get_settings

NOW = datetime(2022, 3, 23, 21, 0, tzinfo=LOCAL_TZ)  # the evening seed 001's figures are final
POLICY = "zibo-2022-03"
START = date(2022, 3, 8)  # the outbreak's first day (demo/outbreak.py)


def demo_settings(home: Path, database_url: str) -> Settings:
    return Settings(
        home=home,
        database_url=database_url,
        now=NOW,
        policy=POLICY,
        outbreak_start=START.isoformat(),
        city="3703",
        # The demo serves plain HTTP on the loopback with a published placeholder secret.
        demo=True,
        cookie_secure=False,
    )


def sqlite_url(home: Path) -> str:
    """The demo's own SQLite file, ``{home}/demo.db``."""
    return f"sqlite:///{(home / 'demo.db').resolve()}"


def use_demo_store() -> Settings:
    """Point every later ``get_settings()`` of this process at the store ``fangkong demo``
    built: its SQLite file (or the configured database it was built in), its lake and files
    under ``{home}/demo``, its frozen clock and its edition."""
    base = get_settings()
    settings = demo_settings(base.home / "demo", base.database_url or sqlite_url(base.home))
    os.environ.update(
        {
            "FANGKONG_HOME": str(settings.home),
            "FANGKONG_DATABASE_URL": str(settings.database_url),
            "FANGKONG_NOW": NOW.isoformat(),
            "FANGKONG_POLICY": POLICY,
            "FANGKONG_OUTBREAK_START": START.isoformat(),
            "FANGKONG_CITY": "3703",
            "FANGKONG_DEMO": "true",
            "FANGKONG_COOKIE_SECURE": "false",  # `fangkong --demo serve` is plain HTTP
        }
    )
    get_settings.cache_clear()
    return get_settings()
