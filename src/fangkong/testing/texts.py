"""How testing is said on a page: labels of kinds, states and levels, Beijing times, rates
and pool sizes. Pure functions, shared by the pages and the dashboard's card."""

from __future__ import annotations

from datetime import datetime

from fangkong.clock import LOCAL_TZ, as_utc, chinese_day

KIND_LABELS = {"mass": "全员", "routine": "常态化", "quarantine": "隔离点"}
KIND_TITLES = {"mass": "全员核酸检测", "routine": "常态化核酸检测", "quarantine": "隔离点核酸检测"}
STATUS_LABELS = {"open": "采样中", "closed": "已结束采样"}
# A round's phase by its sampling window (a round left open after its window has ended
# is no longer sampling): what the pages and the dashboard say.
PHASE_LABELS = {"planned": "计划中", "sampling": "采样中", "closed": "已结束"}
POOL_MODE_LABELS = {"fixed": "固定混采规模", "by_area": "按区域阳性率选择"}
LEVEL_LABELS = {"district": "区县", "street": "街道（镇）", "community": "社区"}
LEVEL_ORDER = ("district", "street", "community")
FREQUENCY_LABELS = {
    "daily": "每日",
    "every_2_days": "每2日",
    "twice_weekly": "每周两次",
    "weekly": "每周",
}


def window_text(start: datetime, end: datetime) -> str:
    a, b = as_utc(start).astimezone(LOCAL_TZ), as_utc(end).astimezone(LOCAL_TZ)
    tail = f"{b:%H:%M}" if a.date() == b.date() else f"{chinese_day(b.date())} {b:%H:%M}"
    return f"{chinese_day(a.date())} {a:%H:%M}—{tail}"


def percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole > 0 else "—"


def pool_text(size: int, second: int | None = None) -> str:
    if size == 1:
        return "单管单采"
    text = f"{size}合1"
    return f"{text}，阳性混管人员再按{second}合1复采后单管复核" if second else text


def phase(status: str, starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    """``planned`` before the window, ``sampling`` inside it while the round is open,
    ``closed`` after it or once the round was closed."""
    if status != "open" or as_utc(now) > as_utc(ends_at):
        return "closed"
    return "planned" if as_utc(now) < as_utc(starts_at) else "sampling"
