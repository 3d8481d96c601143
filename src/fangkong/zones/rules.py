"""The rules of risk zones (RULES §4), pure: levels, statuses, proposals from a day's cases,
and the lifting countdown. Data in, decision out; every decision names its rule.

The count of a zone starts on the later of the day its level took effect and the day of
the last positive found inside it: a new positive always restarts it. A level lifts when
each condition of its edition's ``LiftRule`` holds on the day asked; the county-wide level
(防范区 / 低风险区) lifts once no other zone of its county is in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from fangkong.errors import Conflict
from fangkong.policy.model import ZonePolicy

LEVEL_LABELS = {
    "sealed": "封控区",
    "controlled": "管控区",
    "precaution": "防范区",
    "high": "高风险区",
    "medium": "中风险区",
    "low": "低风险区",
}
# What each level means for the people inside (the notices' measures).
LEVEL_MEASURES = {
    "sealed": "区域封闭、足不出户、服务上门",
    "controlled": "人不出区、严禁聚集",
    "precaution": "强化社会面管控、严格限制人员聚集",
    "high": "足不出户、上门服务",
    "medium": "人不出区、错峰取物",
    "low": "个人防护、避免聚集",
}
# Severity across editions, for comparing any two levels (larger = severer).
SEVERITY = {"sealed": 3, "high": 3, "controlled": 2, "medium": 2, "precaution": 1, "low": 1}

EXTENT_KINDS = ("building", "compound", "community", "street", "district", "venue", "workplace")
EXTENT_LABELS = {
    "building": "楼栋",
    "compound": "小区",
    "community": "社区/村",
    "street": "街道/镇",
    "district": "区县",
    "venue": "场所",
    "workplace": "单位",
}


class ZoneStatusCode(StrEnum):
    proposed = "proposed"
    in_force = "in_force"
    downgraded = "downgraded"
    lifted = "lifted"
    rejected = "rejected"


STATUS_LABELS = {
    ZoneStatusCode.proposed: "待确认",
    ZoneStatusCode.in_force: "管控中",
    ZoneStatusCode.downgraded: "已降级",
    ZoneStatusCode.lifted: "已解除",
    ZoneStatusCode.rejected: "未采纳",
}
IN_FORCE = (ZoneStatusCode.in_force.value, ZoneStatusCode.downgraded.value)

_MOVES: dict[str, frozenset[str]] = {
    "proposed": frozenset({"in_force", "rejected", "proposed"}),
    "in_force": frozenset({"downgraded", "lifted", "in_force"}),
    "downgraded": frozenset({"downgraded", "lifted"}),
    "lifted": frozenset(),
    "rejected": frozenset(),
}


class ZoneMoveRefused(Conflict):
    code = "zone_move_refused"


def check_move(current: str, to: str) -> None:
    """A zone goes proposed → in force → downgraded → lifted, or proposed → rejected."""
    if to not in _MOVES.get(current, frozenset()):
        raise ZoneMoveRefused(
            f"a zone {STATUS_LABELS.get(ZoneStatusCode(current), current)} cannot become "
            f"{STATUS_LABELS.get(ZoneStatusCode(to), to)}",
            from_status=current,
            to_status=to,
        )


def label(level: str) -> str:
    return LEVEL_LABELS.get(level, level)


# ---------------------------------------------------------------- proposals


@dataclass(frozen=True)
class Place:
    """A registry unit a zone may be drawn over: ``ref`` is an id (building, compound,
    community) or a code (street, district, venue code, workplace number)."""

    kind: str
    ref: str
    district_code: str
    street_code: str | None = None
    community_id: int | None = None


@dataclass(frozen=True)
class CaseAt:
    """A new case with where it lives and the places of its window where tracing found
    close contacts; ``zone`` is the zone its home lies in already (code, level, place)."""

    case_no: str
    city_code: str
    district_code: str
    street_code: str | None = None
    community_id: int | None = None
    compound_id: int | None = None
    building_id: int | None = None
    contact_places: tuple[Place, ...] = ()
    zone: tuple[str, str, Place | None] | None = None


@dataclass(frozen=True)
class Drawn:
    """A zone already proposed or in force: its place and level."""

    code: str
    level: str
    place: Place


@dataclass
class Proposal:
    level: str
    place: Place
    city_code: str
    rule: str
    reason: str
    case_nos: list[str] = field(default_factory=list)
    upgrade_of: str | None = None


def _home(case: CaseAt, unit: str) -> Place | None:
    common = {
        "district_code": case.district_code,
        "street_code": case.street_code,
        "community_id": case.community_id,
    }
    if unit == "building" and case.building_id is not None:
        return Place("building", str(case.building_id), **common)  # type: ignore[arg-type]
    if unit in ("building", "compound") and case.compound_id is not None:
        # without a building on record, the compound is the smallest unit known
        return Place("compound", str(case.compound_id), **common)  # type: ignore[arg-type]
    return None


def _surroundings(case: CaseAt, unit: str) -> Place | None:
    if unit == "community" and case.community_id is not None:
        return Place(
            "community",
            str(case.community_id),
            case.district_code,
            case.street_code,
            case.community_id,
        )
    if unit == "street" and case.street_code is not None:
        return Place("street", case.street_code, case.district_code, case.street_code)
    return None


def propose(
    cases: Sequence[CaseAt], drawn: Iterable[Drawn], policy: ZonePolicy, edition: str
) -> list[Proposal]:
    """The zones a day's new cases call for (RULES §4), one per place and level:

    - the case's compound (building under ``measures-20``) → the severest level; if the home
      lies in a milder zone already, the proposal names it (``upgrade_of``);
    - its surroundings (``surround_unit``) and the venues and workplaces of its window where
      tracing found close contacts → the second level, where the edition has one;
    - the rest of its district → the county level, unless already drawn.

    A place already drawn at that level or a severer one is not proposed again.
    """
    held: dict[tuple[str, str], int] = {}
    for d in drawn:
        key = (d.place.kind, d.place.ref)
        held[key] = max(held.get(key, 0), SEVERITY.get(d.level, 0))
    out: dict[tuple[str, str], Proposal] = {}

    def add(place: Place, level: str, case: CaseAt, rule: str, reason: str) -> None:
        key = (place.kind, place.ref)
        if held.get(key, 0) >= SEVERITY[level]:
            return
        current = out.get(key)
        if current is not None and SEVERITY[current.level] > SEVERITY[level]:
            if case.case_no not in current.case_nos:
                current.case_nos.append(case.case_no)
            return
        if current is None or SEVERITY[current.level] < SEVERITY[level]:
            current = Proposal(level, place, case.city_code, f"{edition}:{rule}", reason)
            out[key] = current
        if case.case_no not in current.case_nos:
            current.case_nos.append(case.case_no)

    severest, second, county = policy.severest, policy.second, policy.county
    for case in sorted(cases, key=lambda c: c.case_no):
        home = _home(case, policy.seal_unit)
        if home is not None:
            add(home, severest, case, "zones.seal_unit", f"病例{case.case_no}住所")
            if case.zone is not None:
                code, level, _place = case.zone
                made = out.get((home.kind, home.ref))
                milder = SEVERITY.get(level, 0) < SEVERITY[severest] and level != county
                if made is not None and milder:
                    made.upgrade_of = code
        if second is not None and policy.surround_unit != "none":
            around = _surroundings(case, policy.surround_unit)
            if around is not None:
                add(around, second, case, "zones.surround_unit", f"病例{case.case_no}住所周边")
        if second is not None and policy.contact_places:
            for place in case.contact_places:
                add(place, second, case, "zones.contact_places", f"病例{case.case_no}活动场所")
        district = Place("district", case.district_code, case.district_code)
        add(district, county, case, "zones.county", f"病例{case.case_no}所在区县")
    order = {"building": 0, "compound": 1, "community": 2, "street": 3}
    return sorted(
        out.values(),
        key=lambda p: (-SEVERITY[p.level], order.get(p.place.kind, 4), p.place.kind, p.place.ref),
    )


# ---------------------------------------------------------------- lifting


@dataclass(frozen=True)
class RoundFact:
    """A screening round of the zone on a day: all negative, or not."""

    day: date
    negative: bool


@dataclass(frozen=True)
class ZoneFacts:
    """What the lifting of one zone depends on, on the day asked."""

    level: str
    level_since: date
    downgraded: bool = False
    last_positive: date | None = None
    rounds: tuple[RoundFact, ...] = ()
    contacts_open: int = 0
    contacts_last_end: date | None = None
    county_in_force: int = 0  # the other zones of its county still in force


@dataclass(frozen=True)
class Condition:
    code: str
    label: str
    met: bool
    detail: str
    clears: str  # what would clear it, when unmet
    rule: str


@dataclass(frozen=True)
class LiftVerdict:
    """Whether the zone may leave its level on ``day`` and where to (``then`` None:
    lifted); ``start`` the day its count runs from, ``due`` the first day the count alone
    allows, ``days_left`` until then."""

    day: date
    allowed: bool
    then: str | None
    conditions: tuple[Condition, ...]
    start: date
    due: date | None
    days_left: int
    rule: str

    @property
    def blocking(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if not c.met)


def count_start(facts: ZoneFacts) -> date:
    """The count runs from the later of the level's first day and the last positive."""
    if facts.last_positive is not None and facts.last_positive > facts.level_since:
        return facts.last_positive
    return facts.level_since


def evaluate(facts: ZoneFacts, day: date, policy: ZonePolicy, edition: str) -> LiftVerdict:
    """The lifting verdict of a zone on ``day`` under ``policy`` (RULES §4)."""
    start = count_start(facts)
    if facts.level == policy.county or facts.level not in policy.lifting:
        met = facts.county_in_force == 0
        cond = Condition(
            "county_clear",
            "本区县封控区、管控区均已解除",
            met,
            "均已解除" if met else f"仍有{facts.county_in_force}个区域未解除",
            "" if met else "待本区县其他区域全部解除",
            f"{edition}:zones.county",
        )
        return LiftVerdict(day, met, None, (cond,), start, None, 0, cond.rule)
    lift = policy.lifting[facts.level]
    key = f"{edition}:zones.lifting.{facts.level}"
    continuing = facts.downgraded and lift.after_downgrade_days is not None
    need = (
        lift.after_downgrade_days if continuing and lift.after_downgrade_days else lift.quiet_days
    )
    elapsed = (day - start).days
    due = start + timedelta(days=need)
    days_left = max(0, need - elapsed)
    conditions = [
        Condition(
            "quiet_days",
            f"连续{need}天无新增阳性",
            elapsed >= need,
            f"已连续{max(elapsed, 0)}天无新增（自{start:%m月%d日}起）",
            "" if elapsed >= need else f"再{days_left}天无新增（{due:%m月%d日}）",
            f"{key}.{'after_downgrade_days' if continuing else 'quiet_days'}",
        )
    ]
    if not continuing:
        earliest = start + timedelta(days=need - lift.round_window_days + 1)
        good = [
            r for r in facts.rounds if r.negative and earliest <= r.day <= day and r.day > start
        ]
        window = (
            f"第{need}天" if lift.round_window_days == 1 else f"最后{lift.round_window_days}天内"
        )
        conditions.append(
            Condition(
                "screening",
                f"{window}区域核酸筛查全部阴性",
                bool(good),
                f"{max(good, key=lambda r: r.day).day:%m月%d日}筛查全阴" if good else "尚无",
                "" if good else f"{max(earliest, day):%m月%d日}起组织一轮区域筛查且全部阴性",
                f"{key}.round_window_days",
            )
        )
    if lift.contacts_released and not continuing:
        met = facts.contacts_open == 0
        last = facts.contacts_last_end
        conditions.append(
            Condition(
                "contacts_released",
                "最后一名密接隔离期满且核酸阴性",
                met,
                ("已全部解除" + (f"（{last:%m月%d日}）" if last else ""))
                if met
                else f"仍有{facts.contacts_open}名密接在隔离",
                "" if met else "待密接隔离期满且核酸阴性",
                f"{key}.contacts_released",
            )
        )
    allowed = all(c.met for c in conditions)
    return LiftVerdict(day, allowed, lift.then, tuple(conditions), start, due, days_left, key)
