"""Rooms in the order a person reads them (a site page lists thousands)."""

from __future__ import annotations

from fangkong.quarantine.page_views import room_order


def test_numbers_in_room_numbers_compare_as_numbers() -> None:
    rooms = ["10110", "10508", "111", "999", "2-10", "2-3", "A101", "A12", "B1"]
    assert sorted(rooms, key=room_order) == [
        "2-3",
        "2-10",
        "111",
        "999",
        "10110",
        "10508",
        "A12",
        "A101",
        "B1",
    ]
