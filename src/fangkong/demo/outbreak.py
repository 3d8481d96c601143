"""The replay of 淄博's March 2022 outbreak: a pure function, seed and city in, case rows out.

The figures the seeds publish are fixed in the table below; the rest — the curve of 3/8 to
3/19, who fell ill where, how each case was found, who infected whom — is drawn from the
seed's RNG under those constraints, so that fangkong's own statistics and bulletin
reproduce the published figures exactly.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from fangkong.cases.vocab import Classification, FoundVia, Origin
from fangkong.demo.city import City, Person, apportion

D = date
START = D(2022, 3, 8)  # seed 001: "自3月8日至3月23日24时"
LAST_COMMUNITY_DAY = D(2022, 3, 18)  # seed 000: 社会面动态清零 announced on 3/21


@dataclass(frozen=True)
class SeedDay:
    """A day the seeds report: new local cases (all asymptomatic), by reporting unit."""

    day: date
    new: int
    units: dict[str, int] | None  # unit code → count; None: the seeds give no split
    conversions: dict[str, int] = field(default_factory=dict)


ZHOUCUN, ZICHUAN, HUANTAI = "370306", "370302", "370321"
# The published figures (淄博市, March 2022). Seed 004: "20日6例、21日7例、22日3例", all found
# in centralized quarantine, 31 discharged by 3/22 24时. Seed 000: 3/21 and its totals.
# Seed 001: 3/23, one case found in a quarantine site, and its totals.
SEED_DAYS = (
    SeedDay(D(2022, 3, 20), 6, None),  # seed 004
    SeedDay(D(2022, 3, 21), 7, {ZHOUCUN: 5, ZICHUAN: 2}),  # seed 000
    SeedDay(D(2022, 3, 22), 3, {ZHOUCUN: 2, HUANTAI: 1}, {ZHOUCUN: 1}),  # seed 004
    SeedDay(D(2022, 3, 23), 1, {HUANTAI: 1}),  # seed 001
)
SEED_TOTALS = {  # (confirmed, asymptomatic) local, cumulative from START
    D(2022, 3, 21): (45, 148),  # seed 000
    D(2022, 3, 22): (46, 150),  # seed 004
    D(2022, 3, 23): (46, 151),  # seed 001
}
SEED_DISCHARGED = (D(2022, 3, 22), 31)  # seed 004
# The bulletins as published, with the day totals count from (None: "截至", ever). Seed 004
# prints ASCII commas in places; the official form (RULES §8) is full-width throughout.
SEED_BULLETINS: dict[date, tuple[date | None, str]] = {
    D(2022, 3, 21): (  # seed 000
        None,
        "3月21日0时至24时，淄博市报告新增本土无症状感染者7例，其中周村区5例、淄川区2例。"
        "截至3月21日24时，淄博市本土确诊病例45例、本土无症状感染者148例。",
    ),
    D(2022, 3, 22): (  # seed 004
        START,
        "3月22日0时至24时，淄博市报告新增本土无症状感染者3例，其中周村区2例、桓台县1例。"
        "淄博市报告本土无症状感染者转为确诊病例1例，在周村区。"
        "自3月8日至3月22日24时，淄博市累计报告本土确诊病例46例、本土无症状感染者150例。",
    ),
    D(2022, 3, 23): (  # seed 001
        START,
        "3月23日0时至24时，淄博市报告新增本土无症状感染者1例，在桓台县，为集中隔离点的隔离人员。"
        "自3月8日至3月23日24时，淄博市累计报告本土确诊病例46例、本土无症状感染者151例。",
    ),
}

# Where the cases of 3/8 to 3/20 fell (weights by reporting unit): 周村区 carried the heaviest
# task (seed 000), then its neighbours.
UNIT_WEIGHTS = {
    ZHOUCUN: 40, "3703-wch": 5, ZICHUAN: 17, "370303": 11, HUANTAI: 9, "3703-gxq": 7,
    "370305": 4, "370304": 3, "3703-jkq": 2, "370322": 1, "370323": 1,
}  # fmt: skip
DAY20_UNITS = {ZHOUCUN: 3, ZICHUAN: 2, HUANTAI: 1}
CURVE_SHAPE = (2, 5, 9, 14, 18, 20, 19, 17, 14, 12, 10, 10)  # 3/8 .. 3/19, before jitter
PEAK = (D(2022, 3, 12), D(2022, 3, 15))
UNDER_CONTROL = (
    (FoundVia.quarantine_site, 55),
    (FoundVia.sealed_zone_screening, 25),
    (FoundVia.controlled_zone_screening, 10),
    (FoundVia.home_isolation, 10),
)
COMMUNITY_CONFIRMED = (
    (FoundVia.fever_clinic, 50),
    (FoundVia.walk_in, 20),
    (FoundVia.community_screening, 30),
)
COMMUNITY_ASYMPTOMATIC = (
    (FoundVia.community_screening, 85),
    (FoundVia.walk_in, 15),  # tested on their own account (travel, work)
)
IMPORTED = 2  # 外省输入, found by landing tests; outside the local figures
MAX_SHARE = 0.5  # at most this share of a unit's residents fall ill


@dataclass(frozen=True)
class CaseRow:
    """One row of cases.csv (columns of ``fangkong.cases.importer.COLUMNS``)."""

    case_no: str
    person_id: str
    name: str
    id_number: str
    district: str
    street: str
    classification: str
    origin: str
    found_via: str
    sampled_on: date
    onset_on: date | None
    reported_on: date
    converted_on: date | None
    discharged_on: date | None
    infector_case_no: str
    notes: str


@dataclass
class _Case:
    day: date
    unit: str
    classification: Classification = Classification.asymptomatic
    origin: Origin = Origin.local
    found_via: FoundVia = FoundVia.quarantine_site
    person: int = -1
    infector: int | None = None
    note: str = ""
    converted_on: date | None = None
    discharged_on: date | None = None


def _pick(rng: random.Random, pairs: tuple[tuple[FoundVia, int], ...]) -> FoundVia:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _weighted_sample(
    rng: random.Random, items: list[int], weights: list[float], k: int
) -> list[int]:
    """``k`` items without replacement, each drawn with probability in proportion to its weight."""
    keyed = sorted(zip(items, weights, strict=True), key=lambda iw: -(rng.random() ** (1 / iw[1])))
    return [item for item, _ in keyed[:k]]


def _curve(rng: random.Random, total: int) -> list[int]:
    """New local cases a day from 3/8 to 3/19: rising, a peak in 3/12..3/15, then falling;
    3/19 stays at 10 or more (seed 004 counts the single-digit days from 3/20)."""
    peak_lo, peak_hi = ((p - START).days for p in PEAK)
    while True:
        counts = apportion(total, [w * rng.uniform(0.8, 1.2) for w in CURVE_SHAPE])
        peak = counts.index(max(counts))
        if counts[0] >= 1 and counts[-1] >= 10 and peak_lo <= peak <= peak_hi:
            return counts


def replay(city: City, *, seed: int = 2022) -> tuple[CaseRow, ...]:
    """The cases of 3/8 to 3/23, reported so that the seed figures hold."""
    rng = random.Random(f"outbreak:{seed}")
    first_seed_day = SEED_DAYS[0].day
    by_21 = SEED_TOTALS[D(2022, 3, 21)]
    early_conversions = rng.randint(2, 4)  # conversions before 3/20, not in the seeds
    late_conversions = sum(sum(s.conversions.values()) for s in SEED_DAYS)
    confirmed_at_report = by_21[0] - early_conversions
    early_total = sum(by_21) - sum(s.new for s in SEED_DAYS if s.day <= D(2022, 3, 21))

    # -- who lives where, and how many may fall ill per unit
    residents: dict[str, list[int]] = defaultdict(list)
    for index, person in enumerate(city.persons):
        residents[city.unit_code(person)].append(index)
    room = {u: int(len(p) * MAX_SHARE) for u, p in residents.items()}

    # -- the days and units of every local case
    cases: list[_Case] = []
    curve = _curve(rng, early_total)
    units = [u for u in UNIT_WEIGHTS if room.get(u, 0) > 0]
    for offset, count in enumerate(curve):
        day = START + timedelta(days=offset)
        for _ in range(count):
            # the first two days are 周村区 only: where the outbreak began
            open_units = [ZHOUCUN] if offset < 2 else [u for u in units if room[u] > 0]
            unit = rng.choices(open_units, weights=[UNIT_WEIGHTS[u] for u in open_units])[0]
            room[unit] -= 1
            cases.append(_Case(day, unit))
    for seed_day in SEED_DAYS:
        split = seed_day.units or DAY20_UNITS
        assert sum(split.values()) == seed_day.new
        for unit, n in split.items():
            cases.extend(_Case(seed_day.day, unit) for _ in range(n))

    # -- classification and how each was found
    early = [i for i, c in enumerate(cases) if c.day < first_seed_day]
    # the index case is a confirmed one, seen at a fever clinic
    rest = early[1:]
    weights = [2.0 if cases[i].day <= D(2022, 3, 12) else 1.0 for i in rest]
    for i in [early[0], *_weighted_sample(rng, rest, weights, confirmed_at_report - 1)]:
        cases[i].classification = Classification.confirmed
    for c in cases:
        t = (c.day - START).days
        community_share = max(0.1, 0.9 - 0.08 * t)
        if c.day <= LAST_COMMUNITY_DAY and rng.random() < community_share:
            table = (
                COMMUNITY_CONFIRMED if c.classification == "confirmed" else COMMUNITY_ASYMPTOMATIC
            )
            c.found_via = _pick(rng, table)
        elif c.day < first_seed_day:
            c.found_via = _pick(rng, UNDER_CONTROL)
    cases[early[0]].found_via = FoundVia.fever_clinic
    # the last community day has a community case: the streak of 社会面动态清零 starts on
    # 3/19 and reaches 3 days on 3/21, when it was announced (seed 000)
    last = [c for c in cases if c.day == LAST_COMMUNITY_DAY]
    if all(c.found_via.value in _CONTROL_CODES for c in last):
        last[0].found_via = FoundVia.community_screening

    # -- conversions: a few early ones, and the seed's (converted on its day)
    candidates = [
        i
        for i in early
        if cases[i].classification == "asymptomatic" and cases[i].day <= D(2022, 3, 17)
    ]
    for i in rng.sample(candidates, early_conversions):
        c = cases[i]
        c.converted_on = min(c.day + timedelta(days=rng.randint(1, 3)), D(2022, 3, 19))
    for seed_day in SEED_DAYS:
        for unit, n in seed_day.conversions.items():
            pool = [
                i
                for i, c in enumerate(cases)
                if c.unit == unit
                and c.converted_on is None
                and c.classification == "asymptomatic"
                and seed_day.day - timedelta(days=4) <= c.day < seed_day.day
            ]
            for i in rng.sample(pool, n):
                cases[i].converted_on = seed_day.day
    assert early_conversions + late_conversions == sum(1 for c in cases if c.converted_on)

    # -- discharges: early cases leave hospital after 8-14 days (two negative tests under
    # the 9th-edition treatment protocol), 31 by 3/22 and none after (seed 004)
    by_day, discharged = SEED_DISCHARGED
    stay = {i: timedelta(days=rng.randint(8, 14)) for i in early}
    pool = [i for i in early if cases[i].day + stay[i] <= by_day]
    earliness = [1.0 / (1 + (cases[i].day - START).days) for i in pool]
    for i in _weighted_sample(rng, pool, earliness, discharged):
        c = cases[i]
        c.discharged_on = max(c.day + stay[i], c.converted_on or c.day)

    # -- imported cases: returning residents found by landing tests
    for _ in range(IMPORTED):
        day = START + timedelta(days=rng.randint(2, 9))
        unit = rng.choice([u for u in units if room[u] > 0])
        room[unit] -= 1
        cases.append(
            _Case(
                day,
                unit,
                origin=Origin.other_province,
                found_via=FoundVia.arrival_test,
                note="外省返淄人员，落地检发现",
            )
        )

    _link(rng, city, cases, residents)
    return _rows(rng, city, cases)


_CONTROL_CODES = {v.value for v, _ in UNDER_CONTROL}


def _link(
    rng: random.Random, city: City, cases: list[_Case], residents: dict[str, list[int]]
) -> None:
    """Give every case a resident of its unit; most later cases are household members or
    colleagues (same workshop, office or class) of an earlier case, who infected them."""
    households: dict[str, list[int]] = defaultdict(list)
    teams: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, resident in enumerate(city.persons):
        households[resident.household_id].append(index)
        if resident.workplace_id:
            teams[(resident.workplace_id, resident.workplace_unit)].append(index)
    unit_of = [city.unit_code(p) for p in city.persons]
    free = {u: rng.sample(p, len(p)) for u, p in sorted(residents.items())}
    ill: set[int] = set()
    exposed: dict[str, list[tuple[int, int, str]]] = defaultdict(list)  # unit → (person, case, how)
    order = sorted(range(len(cases)), key=lambda i: (cases[i].day, rng.random()))
    for i in order:
        c = cases[i]
        linkable = [e for e in exposed[c.unit] if e[0] not in ill and cases[e[1]].day < c.day]
        traced = c.found_via.value in _CONTROL_CODES
        if c.origin == Origin.local and linkable and rng.random() < (0.9 if traced else 0.35):
            person, infector, how = rng.choice(linkable)
            c.infector = infector
            c.note = how
        else:
            while free[c.unit][-1] in ill:
                free[c.unit].pop()
            person = free[c.unit].pop()
            earlier = [
                j
                for j in order
                if cases[j].unit == c.unit
                and cases[j].day < c.day
                and cases[j].origin == Origin.local
            ]
            if c.origin == Origin.local and earlier and rng.random() < 0.3:
                c.infector = rng.choice(earlier)
                c.note = "同社区传播"
        c.person = person
        ill.add(person)
        me = city.persons[person]
        for other in households[me.household_id]:
            exposed[unit_of[other]].append((other, i, "同住家庭成员"))
        if me.workplace_id:
            team = teams[(me.workplace_id, me.workplace_unit)]
            how = "同班同学" if me.workplace_unit.endswith("班") else "同事"
            for other in rng.sample(team, min(30, len(team))):
                exposed[unit_of[other]].append((other, i, how))


def _rows(rng: random.Random, city: City, cases: list[_Case]) -> tuple[CaseRow, ...]:
    order = sorted(range(len(cases)), key=lambda i: (cases[i].day, cases[i].unit, cases[i].person))
    number = {i: f"ZB-2022-{n:04d}" for n, i in enumerate(order, start=1)}
    rows = []
    for i in order:
        c = cases[i]
        p: Person = city.persons[c.person]
        sampled = c.day - timedelta(days=rng.choice((0, 1, 1)))
        onset = None
        if c.classification == "confirmed":
            onset = c.day - timedelta(days=rng.randint(0, 2))
        elif c.converted_on:
            onset = c.converted_on
        infector = number[c.infector] if c.infector is not None else ""
        note = f"{infector}的{c.note}" if infector and c.note != "同社区传播" else c.note
        rows.append(
            CaseRow(
                case_no=number[i],
                person_id=p.person_id,
                name=p.name,
                id_number=p.id_number,
                district=p.district,
                street=p.street,
                classification=c.classification.value,
                origin=c.origin.value,
                found_via=c.found_via.value,
                sampled_on=sampled,
                onset_on=onset,
                reported_on=c.day,
                converted_on=c.converted_on,
                discharged_on=c.discharged_on,
                infector_case_no=infector,
                notes=note,
            )
        )
    return tuple(rows)
