"""The declarative role table, and docs/security.md generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fangkong.auth.permissions import PERMISSIONS, ROLES, permission_table_markdown, role
from fangkong.errors import InvalidInput

SECURITY = Path(__file__).resolve().parents[2] / "docs" / "security.md"
BEGIN, END = "<!-- roles:begin -->", "<!-- roles:end -->"


def test_docs_table_equals_the_code() -> None:
    text = SECURITY.read_text(encoding="utf-8")
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert documented == permission_table_markdown(), (
        "docs/security.md is stale: paste the output of "
        "`python -c 'from fangkong.auth.permissions import permission_table_markdown as t; "
        "print(t())'` between the roles markers"
    )


def test_required_roles_exist() -> None:
    assert {
        "command",
        "cdc",
        "district_officer",
        "community_worker",
        "site_staff",
        "lab",
        "venue_device",
        "hotline",
        "admin",
    } <= ROLES.keys()


def test_every_role_uses_known_permissions_and_pii_is_narrow() -> None:
    for r in ROLES.values():
        assert r.permissions <= PERMISSIONS.keys()
    # Machines, hotline operators and administrators never see unmasked personal data.
    for code in ("venue_device", "lab", "hotline", "admin"):
        assert "person.pii.read" not in ROLES[code].permissions
    assert ROLES["venue_device"].token_only


def test_unknown_role() -> None:
    with pytest.raises(InvalidInput, match="unknown role"):
        role("emperor")
