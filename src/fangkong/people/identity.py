"""Identity documents and phone numbers: validation rules, no I/O.

The resident ID number (居民身份证号码) follows GB 11643-1999: six digits of region code,
eight of birth date, three of sequence (odd for men, even for women) and a check character
computed by ISO 7064 MOD 11-2.
"""

from __future__ import annotations

import re
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def check_character(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("the first 17 characters of an ID number must be digits")
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str) -> str:
    """The ID number, normalised (upper-case X); ``ValueError`` with the reason if invalid."""
    text = value.strip().upper()
    if len(text) != 18:
        raise ValueError(f"an ID number has 18 characters, this has {len(text)}")
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise ValueError("an ID number is 17 digits and a digit or X")
    birth_of(text)
    expected = check_character(text[:17])
    if text[17] != expected:
        raise ValueError(f"check digit is {text[17]}, should be {expected} (GB 11643)")
    return text


def birth_of(id_number: str) -> date:
    """The birth date written in an ID number (characters 7 to 14)."""
    digits = id_number[6:14]
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValueError(f"ID number has no valid birth date ({digits})") from None
    if born.year < 1900:
        raise ValueError(f"ID number has no valid birth date ({digits})")
    return born


def sex_of(id_number: str) -> str:
    """``M`` or ``F`` from the sequence digit (character 17: odd for men)."""
    return "M" if int(id_number[16]) % 2 else "F"


def validate_phone(value: str) -> str:
    """An 11-digit mainland mobile number; spaces, dashes and a +86 prefix are dropped."""
    text = re.sub(r"[\s-]", "", value)
    text = text.removeprefix("+86").removeprefix("0086")
    if not MOBILE.match(text):
        raise ValueError("not an 11-digit mainland mobile number")
    return text
