"""A round's phase is read from its sampling window, not only from its stored status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fangkong.testing.texts import PHASE_LABELS, phase

START = datetime(2022, 3, 16, 22, 0, tzinfo=UTC)
END = datetime(2022, 3, 17, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "now", "expected"),
    [
        ("open", datetime(2022, 3, 16, 21, 59, tzinfo=UTC), "planned"),
        ("open", START, "sampling"),
        ("open", END, "sampling"),
        ("open", datetime(2022, 3, 23, 12, 0, tzinfo=UTC), "closed"),  # a week after
        ("closed", datetime(2022, 3, 17, 1, 0, tzinfo=UTC), "closed"),  # closed early
    ],
)
def test_the_phase_follows_the_window(status: str, now: datetime, expected: str) -> None:
    assert phase(status, START, END, now) == expected
    assert PHASE_LABELS[expected] in ("计划中", "采样中", "已结束")


def test_times_without_zone_are_utc() -> None:
    assert phase("open", START.replace(tzinfo=None), END.replace(tzinfo=None), START) == (
        "sampling"
    )
