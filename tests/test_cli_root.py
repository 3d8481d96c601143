"""The CLI's root: its help imports no domain, and ``--demo`` points commands at the store
``fangkong demo`` built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fangkong.config import get_settings
from fangkong.demo.store import NOW, POLICY, use_demo_store

HEAVY = ("duckdb", "ibis", "pyarrow", "pyspark", "openpyxl", "docx", "fastapi", "alembic")


def modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``fangkong ARGS``."""
    code = (
        "import json, sys\n"
        "from fangkong.cli import main\n"
        f"sys.argv = ['fangkong', *{list(args)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert "Usage" in done.stdout
    found: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return {name.split(".")[0] for name in found}


def test_the_help_imports_no_heavy_library() -> None:
    assert not set(HEAVY) & modules_after("--help")


def test_a_group_imports_only_what_it_needs() -> None:
    loaded = modules_after("users", "--help")
    assert not {"duckdb", "ibis", "pyspark", "openpyxl", "docx"} & loaded


def test_demo_points_every_command_at_the_demo_store(tmp_path: Path) -> None:
    # use_demo_store writes the process's environment, as the CLI wants: put it back whole
    # afterwards, or every later test would run on the demo's edition and clock.
    saved = dict(os.environ)
    names = ("HOME", "DATABASE_URL", "NOW", "POLICY", "OUTBREAK_START", "CITY", "DEMO")
    for name in (*names, "COOKIE_SECURE"):
        os.environ.pop(f"FANGKONG_{name}", None)
    os.environ["FANGKONG_HOME"] = str(tmp_path)
    get_settings.cache_clear()
    try:
        settings = use_demo_store()
        assert settings.database_url == f"sqlite:///{(tmp_path / 'demo.db').resolve()}"
        assert settings.home == tmp_path / "demo"
        assert (settings.now, settings.policy, settings.demo) == (NOW, POLICY, True)
        assert settings.cookie_secure is False
        assert get_settings() is settings
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
