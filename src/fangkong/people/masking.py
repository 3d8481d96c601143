"""Masking of personal data for lists and exports (DESIGN: personal data by design).

Pure functions, no I/O: every list, page and export that shows people masks through here.
"""

from __future__ import annotations

MASK = "*"
# The fields of a person shown only to ``person.pii.read`` (masked or left out otherwise).
PII_FIELDS = ("name", "id_number", "phone", "building", "room")


def mask_id_number(value: str | None) -> str | None:
    """``370302********1234``: the region code and the last four stay, the birth date goes."""
    if value is None:
        return None
    if len(value) <= 10:
        return MASK * len(value)
    return value[:6] + MASK * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """``138****5678``: the carrier prefix and the last four stay."""
    if value is None:
        return None
    if len(value) <= 7:
        return MASK * len(value)
    return value[:3] + MASK * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str | None:
    """``张*三`` (first and last character stay), ``张*`` for two characters, ``*`` for one."""
    if value is None:
        return None
    text = value.strip()
    if len(text) <= 1:
        return MASK * len(text)
    if len(text) == 2:
        return text[0] + MASK
    return text[0] + MASK * (len(text) - 2) + text[-1]


def address_line(
    community: str | None,
    compound: str | None,
    building: str | None = None,
    room: str | None = None,
    *,
    full: bool,
) -> str | None:
    """An address from the community down, ``新建路社区 丝绸苑小区 1号楼 101``; without
    ``full`` it stops at the compound: the building and room say who lives there."""
    parts = (community, compound, building, room) if full else (community, compound)
    return " ".join(p for p in parts if p) or None
