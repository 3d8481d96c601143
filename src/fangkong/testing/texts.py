"""How testing is said on a page: labels of kinds, states and levels, Beijing times, rates
and pool sizes. Pure functions, shared by the pages and the dashboard's card."""

from __future__ import annotations

from datetime import UTC, datetime

from fangkong.clock import LOCAL_TZ, chinese_day

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


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def local_time(moment: datetime | None) -> str:
    """``2022-03-21 06:00`` in Beijing time; the lake gives UTC without a zone."""
    if moment is None:
        return ""
    return aware(moment).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def window_text(start: datetime, end: datetime) -> str:
    a, b = aware(start).astimezone(LOCAL_TZ), aware(end).astimezone(LOCAL_TZ)
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
    if status != "open" or aware(now) > aware(ends_at):
        return "closed"
    return "planned" if aware(now) < aware(starts_at) else "sampling"
