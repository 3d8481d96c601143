"""ID numbers (GB 11643 check character) and mobile numbers (pure)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.people.identity import (
    birth_of,
    check_character,
    sex_of,
    validate_id_number,
    validate_phone,
)

KNOWN = ["11010519491231002X", "370302199001011232", "37130220001231004X"]


@pytest.mark.parametrize("number", KNOWN)
def test_known_numbers_are_valid(number: str) -> None:
    assert validate_id_number(number) == number
    assert check_character(number[:17]) == number[17]


def test_check_character_of_the_standards_examples() -> None:
    # GB 11643-1999 appendix examples
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


def test_lower_case_x_is_normalised() -> None:
    assert validate_id_number(" 11010519491231002x ") == "11010519491231002X"


def test_wrong_check_digit_names_the_right_one() -> None:
    with pytest.raises(ValueError, match="check digit is 4, should be 2"):
        validate_id_number("370302199001011234")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("37030219900101123", "18 characters, this has 17"),
        ("3703021990010112A3", "17 digits and a digit or X"),
        ("370302199013011230", "no valid birth date"),
        ("370302180001011230", "no valid birth date"),
    ],
)
def test_malformed_numbers(number: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_id_number(number)


def test_birth_and_sex() -> None:
    assert birth_of("11010519491231002X") == date(1949, 12, 31)
    assert sex_of("11010519491231002X") == "F"  # sequence 002: even
    assert sex_of("370302199001011232") == "M"  # sequence 123: odd


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(0, 999),
    st.sampled_from(["370302", "370306", "371302"]),
)
def test_every_computed_number_validates_and_one_changed_digit_does_not(
    born: date, seq: int, region: str
) -> None:
    first = f"{region}{born:%Y%m%d}{seq:03d}"
    number = first + check_character(first)
    assert validate_id_number(number) == number
    # MOD 11-2 catches every single-digit substitution in the sequence part
    changed = first[:14] + str((int(first[14]) + 1) % 10) + first[15:] + number[17]
    with pytest.raises(ValueError, match="check digit"):
        validate_id_number(changed)


@pytest.mark.parametrize(
    ("value", "normal"),
    [("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678")],
)
def test_phone_valid(value: str, normal: str) -> None:
    assert validate_phone(value) == normal


@pytest.mark.parametrize("value", ["12812345678", "1381234567", "053312345678", "1381234567a"])
def test_phone_invalid(value: str) -> None:
    with pytest.raises(ValueError, match="11-digit mainland mobile"):
        validate_phone(value)
