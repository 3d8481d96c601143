"""Rounds of mass testing: create one over areas, exempt people, plan sampling points,
apply the lab results (recall lists, cases, coverage), and read it all within a
jurisdiction.

The population due (应检人员) is snapshotted from the registry into the lake when the
round is created (``due_path``): the samples and results it is compared with live there
too, and the comparison runs in DuckDB (``testing/outcome.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.cases import service as cases_service
from fangkong.clock import LOCAL_TZ
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people import access as people_access
from fangkong.people.joins import Community, Person, Workplace
from fangkong.policy import Policy
from fangkong.regions import service as regions
from fangkong.storage.bulk import IN_BATCH
from fangkong.testing import outcome, pooling
from fangkong.testing.models import (
    Recall,
    RoundArea,
    RoundExemption,
    SamplingPoint,
    TestingRound,
)
from fangkong.testing.planning import CommunityPopulation, Plan, PlanRatios, plan_points

ROUND_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
POOL_MODES = ("fixed", "by_area")
# quarantine: the tests due on one day at one quarantine site (opened from the site,
# ``quarantine/site_swabs.py``), never through ``create_round``.
KINDS = ("mass", "routine", "quarantine")
EXEMPT_REASONS = {
    "quarantine": "隔离管控中",
    "hospital": "住院",
    "travelling": "外出",
    "other": "其他",
}
STATUSES = ("open", "closed")
# Positivity of an area without a measured one: its cases of the last week per resident.
RECENT_DAYS = 7
DUE_BATCH = 100_000


@dataclass(frozen=True)
class AreaRef:
    level: str  # district | street | community
    code: str  # 6 digits, 9 digits, or c<community id>
    name: str
    district_code: str
    street_code: str | None = None
    community_id: int | None = None


def due_path(lake: Path, code: str) -> Path:
    return lake / "testing" / "due" / f"round={code}" / "due.parquet"


# ---------------------------------------------------------------- areas


def resolve_area(session: Session, value: str, *, city_code: str) -> AreaRef:
    """A district or street by code or name, or a community as ``c<id>`` or by name."""
    text = value.strip()
    if text.startswith("c") and text[1:].isdigit():
        community = session.get(Community, int(text[1:]))
        if community is None:
            raise InvalidInput(f"unknown community {value!r}", area=value)
        return _community_ref(community)
    if text.isdigit() and len(text) == 9:
        street = regions.resolve_street(text)
        return AreaRef("street", street.code, street.name, street.district_code, street.code)
    try:
        district = regions.resolve_district(text, city_code)
        return AreaRef("district", district.code, district.name, district.code)
    except InvalidInput:
        pass
    try:
        street = regions.resolve_street(text)
        return AreaRef("street", street.code, street.name, street.district_code, street.code)
    except InvalidInput:
        pass
    found = session.scalars(select(Community).where(Community.name == text)).all()
    if len(found) == 1:
        return _community_ref(found[0])
    raise InvalidInput(f"unknown area {value!r} (a district, street, or community)", area=value)


def _community_ref(c: Community) -> AreaRef:
    return AreaRef("community", f"c{c.id}", c.name, c.district_code, c.street_code, c.id)


def _area_condition(area: AreaRef, kind: str = "mass") -> ColumnElement[bool]:
    """Who a round over this area must sample: its residents, or for a routine round the
    workers of the key industries whose workplace is there."""
    if kind == "routine":
        return Person.workplace_id.in_(select(Workplace.id).where(_workplace_in(area)))
    if area.level == "district":
        return Person.district_code == area.district_code
    if area.level == "street":
        return Person.street_code == area.street_code
    return Person.community_id == area.community_id


def _workplace_in(area: AreaRef) -> ColumnElement[bool]:
    if area.level == "district":
        return Workplace.district_code == area.district_code
    if area.level == "street":
        return Workplace.street_code == area.street_code
    raise InvalidInput("a routine round covers districts or streets (where workplaces are)")


def _covers(scope: Jurisdiction, area: AreaRef, city_code: str) -> bool:
    if area.level == "district" and scope.kind in ("street", "community", "unit"):
        return False  # a whole district is wider than a street or a function zone
    if area.level == "street" and scope.kind == "community":
        return False
    return scope.covers(
        city_code=city_code,
        district_code=area.district_code,
        street_code=area.street_code,
        community_id=area.community_id,
    )


def round_conditions(scope: Jurisdiction) -> list[ColumnElement[bool]]:
    """Rounds visible in a jurisdiction: those of its city with an area inside it; for a
    quarantine site's staff, their own site's rounds (they swab the people on site)."""
    if scope.kind == "site":
        return [TestingRound.kind == "quarantine", TestingRound.site_code == scope.code]
    if not scope.is_area:
        return [TestingRound.id == -1]
    conditions: list[ColumnElement[bool]] = [TestingRound.city_code == scope.city_code]
    if scope.whole_city:
        return conditions
    inside: list[ColumnElement[bool]] = []
    if scope.district_code:
        inside.append(RoundArea.district_code == scope.district_code)
    if scope.street_codes:
        inside.append(RoundArea.street_code.in_(scope.street_codes))
    if scope.community_id is not None:
        inside = [RoundArea.area_code == f"c{scope.community_id}"]
    areas = select(RoundArea.round_id).where(or_(*inside) if inside else RoundArea.id == -1)
    return [*conditions, TestingRound.id.in_(areas)]


# ---------------------------------------------------------------- creating a round


@dataclass(frozen=True)
class RoundSpec:
    code: str
    name: str
    city_code: str
    areas: Sequence[str]
    starts_at: datetime
    ends_at: datetime | None = None
    pool_mode: str = "fixed"
    pool_size: int | None = None
    three_stage: bool = False
    positivity: dict[str, float] | None = None  # area (as given) → recent positivity
    kind: str = "mass"


def _pool_for(
    p: float, spec: RoundSpec, policy: Policy, fixed: int, three_stage: bool
) -> tuple[int, int | None, str]:
    """(pool size, sub-pool size for three stages or None, the rule that chose it)."""
    allowed = policy.testing.allowed_pool_sizes
    if spec.pool_mode == "fixed":
        return fixed, None, f"{policy.rule('testing.fixed_pool')}:{fixed}"
    scheme = pooling.choose_scheme(p, allowed, three_stage=three_stage)
    second = scheme.sizes[1] if len(scheme.sizes) > 1 else None
    rule = (
        f"{policy.rule('testing.dorfman')}:p={p:.4%},{scheme.label},"
        f"E={scheme.expected_tests(p):.3f}/person"
    )
    if spec.three_stage and not three_stage:
        rule += f",two stages: {policy.rule('testing.recall_hours')}"
    return scheme.sizes[0], second, rule


def measured_turnaround(session: Session, lake: Path, city_code: str) -> float | None:
    """Hours from a tube's closing to its result in the city's last applied round (the
    tubes-weighted mean of the labs' medians); None before any round was applied."""
    last = session.scalar(
        select(TestingRound)
        .where(TestingRound.city_code == city_code, TestingRound.applied_at.is_not(None))
        .order_by(TestingRound.applied_at.desc())
        .limit(1)
    )
    if last is None:
        return None
    try:
        rows = outcome.read_turnaround(lake, last.code).to_pylist()
    except (NotFound, FileNotFoundError, OSError):
        return None
    weighted = [(r["tubes"], r["median_hours"]) for r in rows if r["median_hours"] is not None]
    tubes = sum(n for n, _ in weighted)
    return sum(n * h for n, h in weighted) / tubes if tubes else None


def three_stages_fit(hours: float | None, policy: Policy) -> bool:
    """Three stages put one more lab cycle between a positive pool and its members' single
    tubes: allowed only when two cycles fit in the policy's recall window (unknown
    turnaround: allowed)."""
    return hours is None or 2 * hours <= policy.testing.recall_hours


def create_round(
    session: Session,
    spec: RoundSpec,
    *,
    lake: Path,
    policy: Policy,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
) -> TestingRound:
    """Create a round: its areas (each with its pool size), the population due as a
    snapshot in the lake, and its sampling points planned by the guide's ratios."""
    if not ROUND_CODE.match(spec.code):
        raise InvalidInput(
            "round code: letters, digits, '_', '.', '-' (at most 64)", code=spec.code
        )
    if session.scalar(select(TestingRound.id).where(TestingRound.code == spec.code)):
        raise Conflict(f"round {spec.code!r} already exists", code=spec.code)
    if spec.kind not in KINDS:
        raise InvalidInput(f"kind: one of {', '.join(KINDS)}", kind=spec.kind)
    if spec.kind == "quarantine":
        raise InvalidInput("a quarantine round is opened from its site, for one day")
    if spec.kind == "routine" and not policy.testing.routine_groups:
        raise InvalidInput(f"policy {policy.edition} names no key populations for routine testing")
    if spec.pool_mode not in POOL_MODES:
        raise InvalidInput(f"pool mode: one of {', '.join(POOL_MODES)}", pool_mode=spec.pool_mode)
    fixed = spec.pool_size or policy.testing.default_pool_size
    if fixed not in policy.testing.allowed_pool_sizes:
        allowed = ", ".join(map(str, policy.testing.allowed_pool_sizes))
        raise InvalidInput(f"pool size {fixed}: the labs allow {allowed}", pool_size=fixed)
    if spec.starts_at.tzinfo is None:
        raise InvalidInput("starts_at needs a time zone")
    ends_at = spec.ends_at or spec.starts_at + timedelta(hours=policy.testing.round_hours)
    if ends_at <= spec.starts_at:
        raise InvalidInput("a round ends after it starts")
    if not spec.areas:
        raise InvalidInput("a round covers at least one area")
    refs = _distinct_areas(session, spec.areas, spec.city_code)
    for ref in refs:
        if not _covers(scope, ref, spec.city_code):
            raise OutsideJurisdiction(
                f"area {ref.name} is outside your jurisdiction", area=ref.code
            )
    groups = _routine_condition(policy) if spec.kind == "routine" else None
    populations = _populations(session, refs, spec.kind, groups)
    measured = {
        resolve_area(session, k, city_code=spec.city_code).code: v
        for k, v in (spec.positivity or {}).items()
    }
    for value in measured.values():
        if not 0 <= value <= 1:
            raise InvalidInput(f"positivity {value} is not a share between 0 and 1")
    three_stage = spec.three_stage and three_stages_fit(
        measured_turnaround(session, lake, spec.city_code), policy
    )
    round_ = TestingRound(
        code=spec.code,
        name=spec.name,
        kind=spec.kind,
        city_code=spec.city_code,
        starts_at=spec.starts_at,
        ends_at=ends_at,
        pool_mode=spec.pool_mode,
        pool_size=fixed,
        three_stage=three_stage,
        status="open",
        rule=str(policy.rule("testing.round")),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    for ref in refs:
        p = measured.get(ref.code)
        if p is None:
            p = _recent_positivity(session, ref, populations[ref.code], spec.starts_at.date())
        size, second, rule = _pool_for(p, spec, policy, fixed, three_stage)
        round_.areas.append(
            RoundArea(
                level=ref.level,
                area_code=ref.code,
                name=ref.name,
                district_code=ref.district_code,
                street_code=ref.street_code,
                population=populations[ref.code],
                positivity=p,
                pool_size=size,
                three_stage_size=second,
                pool_rule=rule,
            )
        )
    session.add(round_)
    session.flush()
    due = _due_condition(refs, spec.kind, groups)
    round_.due_count = _write_due(session, due, due_path(lake, spec.code))
    if spec.kind == "mass":  # routine samples are taken at the workplaces
        _plan(session, round_, refs, policy)
    return round_


def _distinct_areas(session: Session, given: Iterable[str], city_code: str) -> list[AreaRef]:
    refs: dict[str, AreaRef] = {}
    for value in given:
        ref = resolve_area(session, value, city_code=city_code)
        if ref.district_code[:4] != city_code:
            raise InvalidInput(f"area {ref.name} is not in city {city_code}", area=value)
        refs[ref.code] = ref
    chosen = list(refs.values())
    for a in chosen:
        for b in chosen:
            if a is not b and _inside(a, b):
                raise InvalidInput(f"area {a.name} lies inside {b.name}: give one of them")
    return sorted(chosen, key=lambda r: r.code)


def _inside(a: AreaRef, b: AreaRef) -> bool:
    if b.level == "district":
        return a.level != "district" and a.district_code == b.district_code
    if b.level == "street":
        return a.level == "community" and a.street_code == b.street_code
    return False


def _routine_condition(policy: Policy) -> ColumnElement[bool]:
    """Workers of the industries the policy tests routinely."""
    industries = sorted(policy.testing.routine_groups)
    return Person.workplace_id.in_(select(Workplace.id).where(Workplace.industry.in_(industries)))


def _due_condition(
    refs: Sequence[AreaRef], kind: str, groups: ColumnElement[bool] | None
) -> ColumnElement[bool]:
    inside = or_(*(_area_condition(r, kind) for r in refs))
    return inside if groups is None else and_(inside, groups)


def _populations(
    session: Session, refs: Sequence[AreaRef], kind: str, groups: ColumnElement[bool] | None
) -> dict[str, int]:
    return {
        ref.code: session.scalar(
            select(func.count(Person.id)).where(_due_condition([ref], kind, groups))
        )
        or 0
        for ref in refs
    }


def _recent_positivity(session: Session, area: AreaRef, population: int, day: date) -> float:
    """The area's cases reported in the week before the round, per resident: the best
    estimate of prevalence the registry has before any of the round's results."""
    if population == 0:
        return 0.0
    count = cases_service.count_reported(
        session,
        district_code=area.district_code if area.level == "district" else None,
        street_code=area.street_code if area.level == "street" else None,
        community_id=area.community_id if area.level == "community" else None,
        since=day - timedelta(days=RECENT_DAYS),
        until=day,
    )
    return min(1.0, count / population)


_DUE = pa.schema(
    [
        ("person_id", pa.string()),
        ("community_id", pa.int64()),
        ("community_name", pa.string()),
        ("street_code", pa.string()),
        ("district_code", pa.string()),
    ]
)


def _write_due(session: Session, who: ColumnElement[bool], target: Path) -> int:
    """The persons ``who`` selects (the round's population) as Parquet, written in batches
    and renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name("." + target.name)
    query = (
        select(
            Person.person_no,
            Person.community_id,
            Community.name,
            Person.street_code,
            Person.district_code,
        )
        .outerjoin(Community, Community.id == Person.community_id)
        .where(who)
        .order_by(Person.community_id, Person.person_no)
        .execution_options(yield_per=DUE_BATCH)
    )
    rows = 0
    with pq.ParquetWriter(work, _DUE, compression="zstd") as writer:
        for batch in session.execute(query).partitions():
            columns = list(zip(*batch, strict=True))
            writer.write_table(pa.table([pa.array(c) for c in columns], schema=_DUE))
            rows += len(batch)
    work.replace(target)
    return rows


# ---------------------------------------------------------------- a quarantine site's day


@dataclass(frozen=True)
class SiteRoundSpec:
    """The round of one quarantine site's tests of one day (kind ``quarantine``)."""

    code: str
    name: str
    site_code: str | None  # None: a community's door-to-door round of people at home
    district_code: str  # the site's (or the community's): the round's one area
    starts_at: datetime
    ends_at: datetime
    # A round of people under home isolation or monitoring covers their community instead.
    community_id: int | None = None
    community_name: str | None = None
    street_code: str | None = None


def create_site_round(
    session: Session,
    spec: SiteRoundSpec,
    *,
    persons: ColumnElement[bool],
    lake: Path,
    policy: Policy,
    now: datetime,
    actor: str,
) -> TestingRound:
    """A round of the persons ``persons`` selects (those whose tests are due at the site):
    single tubes (单人单管: a quarantined person is never pooled with another), no sampling
    points (the site's staff swab room by room). The caller checks its jurisdiction over
    the site (``quarantine/site_swabs.py``)."""
    if not ROUND_CODE.match(spec.code):
        raise InvalidInput(
            "round code: letters, digits, '_', '.', '-' (at most 64)", code=spec.code
        )
    if session.scalar(select(TestingRound.id).where(TestingRound.code == spec.code)):
        raise Conflict(f"round {spec.code!r} already exists", code=spec.code)
    if 1 not in policy.testing.allowed_pool_sizes:
        raise InvalidInput(f"policy {policy.edition} allows no single tubes for quarantine tests")
    if spec.starts_at.tzinfo is None or spec.ends_at <= spec.starts_at:
        raise InvalidInput("a round needs a window with its time zone, ending after it starts")
    district = regions.registry().districts[spec.district_code]
    round_ = TestingRound(
        code=spec.code,
        name=spec.name,
        kind="quarantine",
        city_code=district.city_code,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        pool_mode="fixed",
        pool_size=1,
        three_stage=False,
        status="open",
        rule=str(policy.rule("testing.quarantine_round")),
        created_by=actor,
        created_at=now,
        updated_at=now,
        site_code=spec.site_code,
    )
    at_home = spec.community_id is not None
    round_.areas.append(
        RoundArea(
            level="community" if at_home else "district",
            area_code=f"c{spec.community_id}" if at_home else district.code,
            name=spec.community_name or district.name,
            district_code=district.code,
            street_code=spec.street_code,
            population=0,
            positivity=None,
            pool_size=1,
            three_stage_size=None,
            pool_rule=f"{policy.rule('testing.quarantine_single_tube')}:1",
        )
    )
    session.add(round_)
    session.flush()
    write_site_due(session, round_, persons=persons, lake=lake, now=now)
    return round_


def write_site_due(
    session: Session,
    round_: TestingRound,
    *,
    persons: ColumnElement[bool],
    lake: Path,
    now: datetime,
) -> int:
    """(Re)write a quarantine round's due snapshot: unlike an area's residents, the people
    due at a site grow during the day as transfers arrive."""
    round_.due_count = _write_due(session, persons, due_path(lake, round_.code))
    for area in round_.areas:
        area.population = round_.due_count
    round_.updated_at = now
    return round_.due_count


def tube_sizes(round_: TestingRound, policy: Policy) -> tuple[int, ...]:
    """The tube sizes a round's samples may have: single tubes only at a quarantine site."""
    return (1,) if round_.kind == "quarantine" else tuple(policy.testing.allowed_pool_sizes)


def _ratios(policy: Policy) -> PlanRatios:
    t = policy.testing
    return PlanRatios(
        people_per_point_min=t.people_per_point_min,
        people_per_point_max=t.people_per_point_max,
        people_per_staff=t.people_per_staff,
        people_per_table_min=t.people_per_table_min,
        people_per_table_max=t.people_per_table_max,
    )


def _unit_code(community_id: int | None, street_code: str | None, district_code: str) -> str:
    """A planning unit: a community, or the residents of a street (or district) whom the
    registry has not placed in a community, so that nobody is left out of the plan."""
    return f"c{community_id}" if community_id is not None else f"s{street_code or district_code}"


def _unit_name(name: str | None, street_code: str | None, district_code: str) -> str:
    if name:
        return name
    reg = regions.registry()
    where = reg.streets[street_code].name if street_code in reg.streets else None
    return f"{where or reg.districts[district_code].name}（未分社区）"


def _plan(session: Session, round_: TestingRound, refs: Sequence[AreaRef], policy: Policy) -> None:
    counts = session.execute(
        select(
            Person.community_id,
            Community.name,
            func.coalesce(Community.street_code, Person.street_code),
            func.coalesce(Community.district_code, Person.district_code),
            func.count(Person.id),
        )
        .outerjoin(Community, Community.id == Person.community_id)
        .where(_due_condition(refs, round_.kind, None), Person.district_code.is_not(None))
        .group_by(
            Person.community_id,
            Community.name,
            func.coalesce(Community.street_code, Person.street_code),
            func.coalesce(Community.district_code, Person.district_code),
        )
    ).all()
    units = {
        _unit_code(cid, street, district): (
            cid,
            _unit_name(name, street, district),
            street,
            district,
            n,
        )
        for cid, name, street, district, n in counts
    }
    plan = plan_points(
        [
            CommunityPopulation(
                code=code, name=u[1], street=u[2] or "", district=u[3], population=u[4]
            )
            for code, u in units.items()
        ],
        window_start=round_.starts_at,
        window_end=round_.ends_at,
        ratios=_ratios(policy),
    )
    for community_plan in plan.communities:
        for point in community_plan.points:
            unit = units[point.community_code]
            session.add(
                SamplingPoint(
                    round_id=round_.id,
                    code=point.code,
                    community_id=unit[0],
                    name=f"{point.community_name}采样点{point.code.rsplit('P', 1)[-1]}",
                    district_code=unit[3],
                    street_code=unit[2],
                    population=point.population_served,
                    staff=point.staff,
                    tables=point.tables,
                    opens_at=round_.starts_at,
                    closes_at=round_.ends_at,
                )
            )
    session.flush()


# ---------------------------------------------------------------- reading


def find_round(session: Session, *, code: str) -> TestingRound | None:
    """The round of that code whatever the caller's jurisdiction (the caller checks it)."""
    return session.scalar(select(TestingRound).where(TestingRound.code == code))


def get_round(session: Session, *, code: str, scope: Jurisdiction) -> TestingRound:
    found = session.scalar(
        select(TestingRound).where(TestingRound.code == code, *round_conditions(scope))
    )
    if found is None:
        raise NotFound(f"no round {code!r}", code=code)
    return found


def list_rounds(session: Session, *, scope: Jurisdiction) -> list[TestingRound]:
    return list(
        session.scalars(
            select(TestingRound)
            .where(*round_conditions(scope))
            .order_by(TestingRound.starts_at.desc(), TestingRound.code)
        )
    )


def all_rounds(session: Session) -> list[TestingRound]:
    """Every round, the latest first: what a lab (bound to no area) may post results to."""
    return list(
        session.scalars(
            select(TestingRound).order_by(TestingRound.starts_at.desc(), TestingRound.code)
        )
    )


def round_for_lab(session: Session, *, code: str, scope: Jurisdiction) -> TestingRound:
    """A round for a lab: labs test tubes from anywhere, so a lab (bound to itself, not to
    an area) reaches every round; an area-bound caller only the rounds of its area, a
    site's staff only their site's."""
    if scope.is_area or scope.kind == "site":
        return get_round(session, code=code, scope=scope)
    found = session.scalar(select(TestingRound).where(TestingRound.code == code))
    if found is None:
        raise NotFound(f"no round {code!r}", code=code)
    return found


def require_open(round_: TestingRound) -> None:
    if round_.status != "open":
        raise Conflict(f"round {round_.code} is closed: no more samples", code=round_.code)


def close_round(round_: TestingRound, *, now: datetime) -> None:
    """Stop sampling (idempotent); results and their application go on."""
    if round_.status == "open":
        round_.status, round_.updated_at = "closed", now


def points_of(session: Session, round_: TestingRound, scope: Jurisdiction) -> list[SamplingPoint]:
    points = session.scalars(
        select(SamplingPoint)
        .where(SamplingPoint.round_id == round_.id)
        .order_by(SamplingPoint.district_code, SamplingPoint.street_code, SamplingPoint.id)
    ).all()
    return [
        p
        for p in points
        if scope.covers(
            city_code=round_.city_code,
            district_code=p.district_code,
            street_code=p.street_code,
            community_id=p.community_id,
        )
    ]


def plan_of(session: Session, round_: TestingRound, *, policy: Policy, scope: Jurisdiction) -> Plan:
    """The round's sampling-point plan (points and time slots) within ``scope``, for the
    Excel export: planned again from the units of its stored points, which gives the same
    points (the planning is deterministic)."""
    units: dict[str, list[Any]] = {}
    for point in points_of(session, round_, scope):
        code = _unit_code(point.community_id, point.street_code, point.district_code)
        unit = units.setdefault(code, [point, 0])
        unit[1] += point.population
    names = dict(
        session.execute(
            select(Community.id, Community.name).where(
                Community.id.in_({u[0].community_id for u in units.values()} - {None})
            )
        ).all()
    )
    reg = regions.registry()
    return plan_points(
        [
            CommunityPopulation(
                code=code,
                name=_unit_name(names.get(p.community_id), p.street_code, p.district_code),
                street=reg.streets[p.street_code].name if p.street_code in reg.streets else "",
                district=reg.districts[p.district_code].name,
                population=population,
            )
            for code, (p, population) in units.items()
        ],
        window_start=round_.starts_at,
        window_end=round_.ends_at,
        ratios=_ratios(policy),
    )


# ---------------------------------------------------------------- exemptions


def exempt(
    session: Session,
    round_: TestingRound,
    *,
    person_no: str,
    reason: str,
    note: str | None,
    actor: str,
    now: datetime,
    scope: Jurisdiction,
) -> RoundExemption:
    """Record that a due person need not be sampled; idempotent (a second call updates
    the reason)."""
    if reason not in EXEMPT_REASONS:
        raise InvalidInput(f"reason: one of {', '.join(EXEMPT_REASONS)}", reason=reason)
    person = session.scalar(select(Person).where(Person.person_no == person_no))
    if person is None or not people_access.person_visible(scope, person):
        raise NotFound(f"no person {person_no!r}", person_no=person_no)
    row = session.scalar(
        select(RoundExemption).where(
            RoundExemption.round_id == round_.id, RoundExemption.person_id == person.id
        )
    )
    if row is None:
        row = RoundExemption(round_id=round_.id, person_id=person.id)
        session.add(row)
    row.reason, row.note, row.recorded_by, row.recorded_at = reason, note, actor, now
    session.flush()
    return row


def persons_outside(
    session: Session, scope: Jurisdiction
) -> Callable[[list[str]], set[str]] | None:
    """What a caller bound to an area may not sample: the person numbers of a batch that
    are not persons of ``scope`` (unknown ones too, so that the answer tells nothing of
    other areas) — as exemptions and recalls reach only them. None when the caller reaches
    the whole city, or is a site sampling its own quarantine round."""
    if not scope.is_area or scope.whole_city:
        return None

    def outside(numbers: list[str]) -> set[str]:
        inside: set[str] = set()
        for i in range(0, len(numbers), IN_BATCH):
            inside.update(
                session.scalars(
                    select(Person.person_no).where(
                        Person.person_no.in_(numbers[i : i + IN_BATCH]),
                        people_access.person_scope(scope),
                    )
                )
            )
        return set(numbers) - inside

    return outside


def exemption_rows(
    session: Session, round_: TestingRound, person_nos: Sequence[str] | None = None
) -> list[tuple[str, str]]:
    """(person number, reason code) of the round's exemptions, of ``person_nos`` only when
    given."""
    query = (
        select(Person.person_no, RoundExemption.reason)
        .join(Person, Person.id == RoundExemption.person_id)
        .where(RoundExemption.round_id == round_.id)
    )
    if person_nos is not None:
        query = query.where(Person.person_no.in_(person_nos))
    return [(no, reason) for no, reason in session.execute(query)]


def exemptions_table(session: Session, round_: TestingRound) -> pa.Table:
    rows = exemption_rows(session, round_)
    return pa.table(
        {
            "person_id": pa.array([r[0] for r in rows], pa.string()),
            "reason": pa.array([r[1] for r in rows], pa.string()),
        }
    )


# ---------------------------------------------------------------- the round's outcome


def outcome_of(round_: TestingRound) -> dict[str, Any] | None:
    loaded: dict[str, Any] | None = json.loads(round_.outcome) if round_.outcome else None
    return loaded


def round_summary(round_: TestingRound) -> dict[str, Any]:
    """The figures of a round for pages and the API (JSON-ready)."""
    return {
        "code": round_.code,
        "name": round_.name,
        "kind": round_.kind,
        "city_code": round_.city_code,
        "starts_at": round_.starts_at.astimezone(LOCAL_TZ).isoformat(),
        "ends_at": round_.ends_at.astimezone(LOCAL_TZ).isoformat(),
        "pool_mode": round_.pool_mode,
        "pool_size": round_.pool_size,
        "three_stage": round_.three_stage,
        "status": round_.status,
        "due": round_.due_count,
        "areas": [
            {
                "level": a.level,
                "code": a.area_code,
                "name": a.name,
                "population": a.population,
                "positivity": a.positivity,
                "pool_size": a.pool_size,
                "three_stage_size": a.three_stage_size,
                "rule": a.pool_rule,
            }
            for a in round_.areas
        ],
        "outcome": outcome_of(round_),
    }


def recalls_of(
    session: Session, round_: TestingRound, *, scope: Jurisdiction, status: str | None = None
) -> list[tuple[Recall, Person]]:
    query = (
        select(Recall, Person)
        .join(Person, Person.id == Recall.person_id)
        .where(Recall.round_id == round_.id)
        .order_by(Recall.district_code, Recall.street_code, Recall.community_id, Person.person_no)
    )
    if status:
        query = query.where(Recall.status == status)
    return [
        (r, p)
        for r, p in session.execute(query)
        if scope.covers(
            city_code=round_.city_code,
            district_code=r.district_code,
            street_code=r.street_code,
            community_id=r.community_id,
        )
    ]
