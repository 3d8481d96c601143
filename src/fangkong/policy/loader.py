"""Load an edition: ``editions/<name>.toml``, merged over its ``base`` edition if it has one.

Local overlays (``zibo-2022-03``) name a national edition as ``base`` and override only
what the city changed.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from fangkong.errors import InvalidInput
from fangkong.policy.model import Policy

EDITIONS = Path(__file__).resolve().parent / "editions"


def available_editions() -> list[str]:
    return sorted(path.stem for path in EDITIONS.glob("*.toml"))


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base``, table by table; a table marked ``replace = true`` takes
    the base's place whole (an edition that drops a level drops its lifting rule too)."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and value.get("replace") is True:
            merged[key] = {k: v for k, v in value.items() if k != "replace"}
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _raw(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    path = EDITIONS / f"{name}.toml"
    if not path.is_file():
        raise InvalidInput(
            f"unknown policy edition {name!r}; available: {', '.join(available_editions())}",
            edition=name,
        )
    if name in seen:
        raise InvalidInput(f"policy editions form a cycle: {' -> '.join((*seen, name))}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    base = data.get("base")
    if base:
        data = _merge(_raw(base, (*seen, name)), data)
    data["edition"] = name
    return data


@lru_cache
def load_policy(name: str) -> Policy:
    return Policy.model_validate(_raw(name))
