"""Every setting is documented in docs/configuration.md, and nothing documented is gone."""

from __future__ import annotations

import re
from pathlib import Path

from fangkong.config import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def documented() -> set[str]:
    return set(re.findall(r"^\| `(FANGKONG_[A-Z_]+)` \|", DOC.read_text(encoding="utf-8"), re.M))


def test_every_setting_is_documented() -> None:
    settings = {f"FANGKONG_{name.upper()}" for name in Settings.model_fields}
    assert settings <= documented()


def test_documented_variables_exist() -> None:
    others = {
        "FANGKONG_REPORTING_UNITS",
        "FANGKONG_TEST_DATABASE_URL",
        "FANGKONG_FUZZ_EXAMPLES",
        "FANGKONG_FUZZ_SECONDS",
    }
    settings = {f"FANGKONG_{name.upper()}" for name in Settings.model_fields}
    assert documented() - others == settings
