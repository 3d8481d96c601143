"""Masking of personal data in lists (pure)."""

from __future__ import annotations

import pytest

from fangkong.people.masking import address_line, mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("370302199001011234", "370302********1234"),
        ("37030219900101123X", "370302********123X"),
        ("370302900101123", "370302*****1123"),  # 15-digit first-generation card
        ("1234567890", "**********"),
        ("", ""),
        (None, None),
    ],
)
def test_id_number(value: str | None, masked: str | None) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("053312345678", "053*****5678"),
        ("1234567", "*******"),
        (None, None),
    ],
)
def test_phone(value: str | None, masked: str | None) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张三丰", "张*丰"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧**娜"),
        ("王", "*"),
        (None, None),
    ],
)
def test_name(value: str | None, masked: str | None) -> None:
    assert mask_name(value) == masked


def test_masked_values_keep_length_of_id_and_phone() -> None:
    assert len(mask_id_number("370302199001011234") or "") == 18
    assert len(mask_phone("13812345678") or "") == 11


def test_address_line_stops_at_the_compound_unless_full() -> None:
    parts = ("新建路社区", "丝绸苑小区", "1号楼", "1单元101")
    assert address_line(*parts, full=True) == "新建路社区 丝绸苑小区 1号楼 1单元101"
    assert address_line(*parts, full=False) == "新建路社区 丝绸苑小区"
    assert address_line("新建路社区", None, None, "101", full=False) == "新建路社区"
    assert address_line(None, None, full=False) is None
