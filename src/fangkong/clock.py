"""The clock: domain code takes ``now`` from here, never from ``datetime.now()``.

Storage is UTC; days begin and end at midnight Asia/Shanghai (RULES §1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    instant: datetime

    def now(self) -> datetime:
        return self.instant.astimezone(UTC)


def today(clock: Clock) -> date:
    """The local (Asia/Shanghai) calendar day of the clock's instant."""
    return clock.now().astimezone(LOCAL_TZ).date()


def local_day(at: datetime) -> date:
    """The local (Asia/Shanghai) calendar day of an instant."""
    return at.astimezone(LOCAL_TZ).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants of 0时 and 24时 of a local day."""
    start = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """An instant with its zone: a stored time without one is UTC (SQLite, the lake)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def beijing_minute(moment: datetime | None) -> str:
    """``2022-03-23 21:00`` in Beijing time, as pages and lists show an instant; "" for
    none."""
    if moment is None:
        return ""
    return as_utc(moment).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def clock_from_settings(frozen: datetime | None) -> Clock:
    return FixedClock(frozen) if frozen is not None else SystemClock()


def chinese_day(day: date, *, with_year: bool = False) -> str:
    """``3月22日`` (or ``2022年3月22日``): how bulletins, notices and the HQ name a day."""
    month_day = f"{day.month}月{day.day}日"
    return f"{day.year}年{month_day}" if with_year else month_day
