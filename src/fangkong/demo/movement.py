"""Daily movement in the synthetic 淄博: who scanned which venue code (场所码), from when to when.

A pure generator: city, days and seed in, scans out. Each person gets a profile once (role,
home-area venues, workplace venue, bus), then each day a schedule drawn from a RNG seeded by
(seed, person, day), so a day's scans do not depend on the range asked for.

- Workers: bus or coach station to work on a weekday morning (07:00–09:00), lunch at a
  restaurant near work on some days (11:30–13:30), back home after 17:00, then a supermarket
  or market near home, a restaurant, a gym or a KTV (17:00–21:00). Shift industries
  (factories, hospitals, shops, restaurants, transport) work some weekend days too.
- Pupils scan their school on every weekday, children of 3–5 their kindergarten.
- Elders and persons without work: morning market, supermarket, clinic, park.
- Weekends: supermarket, mall, cinema, gym, restaurants, KTV.

At a person's own workplace or school the code is scanned at the gate on arrival, with its
exit a few minutes later: colleagues and classmates are close contacts through the
workplace-unit rule (同车间、同班), not because a 300-worker factory is one room (a scan
without exit would be filled with the policy's 8-hour stay and make it one). Everywhere
else a stay is drawn around the policy's ``stay_minutes`` of the venue's category, and some
of those scans have no exit (``left_at`` null, about a fifth of all scans): the lake fills
them from the policy (:func:`to_lake`). A person who otherwise stays home runs an errand at
least every ``ERRAND_EVERY`` days (a guardian scans for a small child), so every case of
the replay has movement before its report day. Cases scan nothing from their report day.

Crowding: venues are picked in proportion to their capacity, with a few habitual ones per
person, and visit rates are set so that the demo's close contacts per case are in the order
RULES §2 reports (~34 in Shandong, March 2022). At scale 1 with the replayed cases: about
43 a case under the zibo-2022-03 policy (2 household, 25 workplace unit, 17 venue; median
42), 53 under national-9's 4-day window; about 1.2 scans a person-day.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from fangkong.clock import LOCAL_TZ
from fangkong.demo.city import City, Person, Venue
from fangkong.demo.outbreak import CaseRow
from fangkong.lake.layout import SCANS, TIMESTAMP
from fangkong.policy.model import TracingPolicy

# The scans as a venue scanner or a CSV import delivers them: left_at may be missing.
RAW_SCANS = pa.schema(
    [
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("venue_code", pa.string(), nullable=False),
        pa.field("entered_at", TIMESTAMP, nullable=False),
        pa.field("left_at", TIMESTAMP, nullable=True),
    ]
)
CSV_COLUMNS = ("person_id", "venue_code", "entered_at", "left_at")

UTC_OFFSET_MIN = 8 * 60  # Asia/Shanghai, no daylight saving since 1991
NO_EXIT_SHARE = 0.36  # of non-gate scans; with gate scans always closed, about 20 % overall
HABITUAL = 2  # venues per category a person goes to most
HABIT_SHARE = 0.75  # share of visits to a habitual venue rather than any of the district
# Industries that work shifts, some of them on weekends.
SHIFT_INDUSTRIES = frozenset(
    {"manufacturing", "energy", "healthcare", "retail", "catering", "transport_logistics"}
)
# Venue categories where a workplace without its own venue scans, by industry.
WORK_CATEGORY = {
    "retail": ("supermarket", "market", "mall"),
    "catering": ("restaurant", "hotel"),
    "healthcare": ("clinic", "hospital"),
    "culture_entertainment": ("ktv", "cinema", "internet_cafe"),
    "sports_fitness": ("gym", "stadium", "swimming_pool"),
    "childcare_training": ("kindergarten", "office"),
    "transport_logistics": ("transport", "office"),
    "agriculture": ("market",),
    "government": ("government", "office"),
}
# Stays in minutes: around the 9th edition's stay_minutes of each category.
STAY = {
    "supermarket": (15, 45), "market": (20, 60), "mall": (60, 150), "restaurant": (35, 90),
    "hospital": (30, 120), "clinic": (10, 30), "transport": (15, 40), "bus": (10, 30),
    "cinema": (100, 140), "ktv": (120, 210), "gym": (60, 120), "internet_cafe": (90, 240),
    "bath": (60, 150), "park": (30, 90), "government": (20, 60), "swimming_pool": (60, 100),
    "stadium": (90, 150), "hotel": (40, 90), "care_home": (30, 90),
}  # fmt: skip
GATE_STAY = (1, 3)
ERRAND_EVERY = 3  # days  # minutes at a workplace or school gate


@dataclass(frozen=True)
class _Profile:
    person_id: str
    role: str  # worker, pupil, infant (3-5), toddler (0-2), elder, idle
    district: str
    habitual: dict[str, tuple[str, ...]]  # category → venue codes near home
    work: str  # venue code of the workplace or school ("" when none)
    work_district: str
    shift: bool
    bus: str  # the bus (or coach station) of the commute ("" when none)
    errand_day: int  # phase of the errand days of a person who otherwise stays home
    errand: str  # where the errand goes when there is no shop near home


class _Venues:
    """The city's venues by district and street, weighted by capacity."""

    def __init__(self, venues: Sequence[Venue]) -> None:
        self.category = {v.venue_code: v.category for v in venues}
        self.by_district: dict[tuple[str, str], list[Venue]] = defaultdict(list)
        self.by_street: dict[tuple[str, str], list[Venue]] = defaultdict(list)
        for v in venues:
            self.by_district[(v.district, v.category)].append(v)
            self.by_street[(v.street, v.category)].append(v)

    def near(self, district: str, street: str, category: str) -> list[Venue]:
        return self.by_street.get((street, category)) or self.by_district.get(
            (district, category), []
        )

    def pick(self, rng: random.Random, options: Sequence[Venue], k: int = 1) -> list[str]:
        if not options:
            return []
        chosen = rng.choices(options, weights=[v.capacity for v in options], k=k)
        return list(dict.fromkeys(v.venue_code for v in chosen))


def workplace_venues(city: City) -> dict[str, str]:
    """workplace_id → the venue code its staff (and pupils) scan at the gate.

    Hospitals, schools, factories and building sites have their own venue (same name and
    address). Other workplaces use a venue of a fitting category in their district (a shop
    its supermarket or market, an office firm an office building), chosen by workplace id;
    a workplace with none (a farm far from a market) has no scans at work."""
    own = {(v.district, v.name, v.address): v.venue_code for v in city.venues}
    venues = _Venues(city.venues)
    result: dict[str, str] = {}
    for w in city.workplaces:
        code = own.get((w.district, w.name, w.address))
        if code is None:
            rng = random.Random(f"workplace:{w.workplace_id}")
            for category in (*WORK_CATEGORY.get(w.industry, ()), "office"):
                picked = venues.pick(rng, venues.near(w.district, w.street, category))
                if picked:
                    code = picked[0]
                    break
        if code is not None:
            result[w.workplace_id] = code
    return result


_HOME_CATEGORIES = (
    "supermarket", "market", "restaurant", "clinic", "park", "gym", "ktv", "internet_cafe",
    "bath", "kindergarten", "mall", "cinema", "hospital",
)  # fmt: skip


def _profiles(city: City, seed: int) -> list[_Profile]:
    venues = _Venues(city.venues)
    at_work = workplace_venues(city)
    work_district = {w.workplace_id: w.district for w in city.workplaces}
    industry = {w.workplace_id: w.industry for w in city.workplaces}
    profiles = []
    for p in city.persons:
        rng = random.Random(f"profile:{seed}:{p.person_id}")
        age = 2022 - p.birth_year
        habitual = {
            c: tuple(venues.pick(rng, venues.near(p.district, p.street, c), HABITUAL))
            for c in _HOME_CATEGORIES
        }
        work = at_work.get(p.workplace_id, "")
        role = _role(p, age)
        wd = work_district.get(p.workplace_id, p.district)
        bus = ""
        if role == "worker" and work:
            # across districts by coach; within one, a third by bus (the rest walk, cycle, drive)
            category = "transport" if wd != p.district else "bus"
            if rng.random() < (0.3 if category == "transport" else 0.12):
                bus = next(iter(venues.pick(rng, venues.by_district[(p.district, category)])), "")
        profiles.append(
            _Profile(
                p.person_id,
                role,
                p.district,
                habitual,
                work,
                wd,
                industry.get(p.workplace_id, "") in SHIFT_INDUSTRIES,
                bus,
                rng.randrange(ERRAND_EVERY),
                _errand(rng, venues, p, city.venues),
            )
        )
    return profiles


_ERRANDS = frozenset({"supermarket", "market", "park", "restaurant", "clinic"})


def _errand(rng: random.Random, venues: _Venues, p: Person, every: Sequence[Venue]) -> str:
    """A shop of the person's district, else of the city (a small demo city has few)."""
    options = (
        [
            v
            for (d, c), vs in venues.by_district.items()
            if d == p.district and c in _ERRANDS
            for v in vs
        ]
        or [v for v in every if v.category in _ERRANDS]
        or list(every)
    )
    return venues.pick(rng, options)[0]


def _role(p: Person, age: int) -> str:
    if p.workplace_id and p.workplace_unit.endswith("班"):
        return "pupil"
    if p.workplace_id:
        return "worker"
    if age <= 2:
        return "toddler"
    if age <= 5:
        return "infant"
    return "elder" if age >= 60 else "idle"


class _Day:
    """One person's scans of one day, in local minutes since midnight, never overlapping."""

    def __init__(self, profile: _Profile, rng: random.Random, venues: _Venues) -> None:
        self.p = profile
        self.rng = rng
        self.venues = venues
        self.visits: list[tuple[str, int, int, bool]] = []  # venue, start, end, exit known
        self.cursor = 0

    def habit(self, category: str, district_pool: Sequence[Venue] = ()) -> str:
        own = self.p.habitual.get(category, ())
        if own and (not district_pool or self.rng.random() < HABIT_SHARE):
            return self.rng.choice(own)
        picked = self.venues.pick(self.rng, district_pool)
        return picked[0] if picked else (own[0] if own else "")

    def visit(self, venue: str, earliest: float, latest: float, *, gate: bool = False) -> None:
        """A visit starting between ``earliest`` and ``latest``, after the previous one."""
        if not venue:
            return
        start = max(self.cursor + 1, int(self.rng.uniform(earliest, latest)))
        lo, hi = GATE_STAY if gate else STAY.get(self.venues.category[venue], (20, 60))
        end = start + self.rng.randint(lo, hi)
        if end >= 24 * 60:
            return
        known = gate or self.rng.random() >= NO_EXIT_SHARE
        self.visits.append((venue, start, end, known))
        self.cursor = end

    def maybe(self, share: float) -> bool:
        return self.rng.random() < share


def _schedule(profile: _Profile, day: date, rng: random.Random, venues: _Venues) -> _Day:
    d = _Day(profile, rng, venues)
    weekend = day.weekday() >= 5
    role = profile.role
    district = profile.district
    pool = venues.by_district
    if role == "worker" and profile.work and (not weekend or (profile.shift and d.maybe(0.4))):
        if profile.bus:
            d.visit(profile.bus, 6 * 60 + 40, 8 * 60 + 20)
        d.visit(profile.work, 7 * 60 + 30, 9 * 60, gate=True)
        if not weekend and d.maybe(0.1):
            d.visit(d.habit("restaurant", pool[(profile.work_district, "restaurant")]), 690, 780)
        if profile.bus:
            d.visit(profile.bus, 17 * 60, 18 * 60 + 30)
        _evening(d, district, pool)
    elif role == "pupil" and not weekend:
        d.visit(profile.work, 7 * 60, 7 * 60 + 50, gate=True)
        if d.maybe(0.1):
            d.visit(d.habit("supermarket"), 17 * 60, 19 * 60)
    elif role == "infant" and not weekend and profile.habitual.get("kindergarten"):
        d.visit(d.habit("kindergarten"), 7 * 60 + 30, 8 * 60 + 30, gate=True)
    elif role in ("elder", "idle") and not weekend:
        if d.maybe(0.25):
            d.visit(d.habit("park"), 6 * 60, 7 * 60 + 30)
        if d.maybe(0.2):
            d.visit(d.habit("market"), 6 * 60 + 30, 10 * 60 + 30)
        if d.maybe(0.05):
            d.visit(d.habit("clinic", pool[(district, "clinic")]), 9 * 60, 11 * 60)
        if d.maybe(0.01):
            d.visit(d.habit("hospital", pool[(district, "hospital")]), 8 * 60, 10 * 60)
        if d.maybe(0.15):
            d.visit(d.habit("supermarket"), 13 * 60, 18 * 60)
        if role == "idle":
            _evening(d, district, pool, share=0.6)
    else:
        _weekend(d, district, pool, young=role in ("toddler", "infant", "pupil"))
    if not d.visits and (day.toordinal() + profile.errand_day) % ERRAND_EVERY == 0:
        # an errand (a guardian scans for a small child): no one goes without a scan for
        # ERRAND_EVERY days, so every case has movement in its look-back window
        category = rng.choices(("supermarket", "market", "park"), weights=(4, 3, 3))[0]
        d.visit(d.habit(category) or profile.errand, 8 * 60, 18 * 60)
    return d


def _evening(
    d: _Day,
    district: str,
    pool: Mapping[tuple[str, str], list[Venue]],
    share: float = 1.0,
) -> None:
    after = max(d.cursor + 10, 17 * 60 + 30)
    if d.maybe(0.15 * share):
        d.visit(d.habit(d.rng.choice(("supermarket", "market"))), after, after + 120)
    if d.maybe(0.08 * share):
        d.visit(d.habit("restaurant", pool[(district, "restaurant")]), 18 * 60, 19 * 60 + 30)
    if d.maybe(0.05 * share):
        category = d.rng.choice(("gym", "ktv", "internet_cafe", "bath"))
        d.visit(d.habit(category, pool[(district, category)]), 19 * 60, 20 * 60 + 30)


def _weekend(
    d: _Day, district: str, pool: Mapping[tuple[str, str], list[Venue]], *, young: bool
) -> None:
    if d.maybe(0.25):
        d.visit(d.habit(d.rng.choice(("supermarket", "market"))), 8 * 60 + 30, 11 * 60 + 30)
    if not young and d.maybe(0.08):
        d.visit(d.habit("restaurant", pool[(district, "restaurant")]), 11 * 60 + 30, 12 * 60 + 30)
    if d.maybe(0.06):
        d.visit(d.habit("mall", pool[(district, "mall")]), 13 * 60, 18 * 60)
    elif d.maybe(0.04):
        d.visit(d.habit("cinema", pool[(district, "cinema")]), 13 * 60, 20 * 60)
    elif not young and d.maybe(0.05):
        d.visit(d.habit("gym", pool[(district, "gym")]), 14 * 60, 18 * 60)
    if not young and d.maybe(0.08):
        d.visit(d.habit("restaurant", pool[(district, "restaurant")]), 17 * 60 + 30, 19 * 60)
    if not young and d.maybe(0.04):
        d.visit(d.habit("ktv", pool[(district, "ktv")]), 19 * 60 + 30, 21 * 60)


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


_EPOCH = date(1970, 1, 1)


def generate(
    city: City,
    *,
    start: date,
    end: date,
    seed: int = 2022,
    isolated_from: Mapping[str, date] | None = None,
) -> pa.Table:
    """The raw scans (``RAW_SCANS``) of every person of ``city`` from ``start`` to ``end``
    (local days, both included), in person then time order. A person in
    ``isolated_from`` scans nothing from that day on (a case from its report day)."""
    if end < start:
        raise ValueError("end is before start")
    venues = _Venues(city.venues)
    isolated = isolated_from or {}
    persons: list[str] = []
    codes: list[str] = []
    entered: list[int] = []
    left: list[int | None] = []
    for profile in _profiles(city, seed):
        stop = isolated.get(profile.person_id)
        for day in _days(start, end):
            if stop is not None and day >= stop:
                break
            ordinal = day.toordinal()
            rng = random.Random(f"{seed}:{profile.person_id}:{ordinal}")
            midnight = ((day - _EPOCH).days * 1440 - UTC_OFFSET_MIN) * 60_000_000
            for venue, begin, finish, known in _schedule(profile, day, rng, venues).visits:
                persons.append(profile.person_id)
                codes.append(venue)
                entered.append(midnight + begin * 60_000_000)
                left.append(midnight + finish * 60_000_000 if known else None)
    return pa.table(
        [
            pa.array(persons, pa.string()),
            pa.array(codes, pa.string()),
            pa.array(entered, pa.int64()).cast(TIMESTAMP),
            pa.array(left, pa.int64()).cast(TIMESTAMP),
        ],
        schema=RAW_SCANS,
    )


def to_lake(raw: pa.Table, city: City, policy: TracingPolicy) -> pa.Table:
    """The lake's rows (``SCANS``): a missing ``left_at`` is ``entered_at`` plus the policy's
    stay for the venue's category, flagged ``left_at_inferred``; sorted by venue and time,
    the order of a compacted day."""
    category = {v.venue_code: v.category for v in city.venues}
    stays = pa.array(
        [policy.stay_for(category.get(c)) * 60_000_000 for c in raw["venue_code"].to_pylist()],
        pa.int64(),
    )
    missing = pc.is_null(raw["left_at"])
    entered_us = raw["entered_at"].cast(pa.int64())
    filled = pc.add(entered_us, stays).cast(TIMESTAMP)
    left_at = pc.if_else(missing, filled, raw["left_at"])
    table = pa.table(
        [raw["person_id"], raw["venue_code"], raw["entered_at"], left_at, missing],
        schema=SCANS,
    )
    return table.sort_by([("venue_code", "ascending"), ("entered_at", "ascending")])


def isolation_days(cases: Iterable[CaseRow]) -> dict[str, date]:
    """person_id → the day the case was reported, from which the person is isolated."""
    days: dict[str, date] = {}
    for c in cases:
        days[c.person_id] = min(c.reported_on, days.get(c.person_id, c.reported_on))
    return days


def demo_range(cases: Sequence[CaseRow], policy: TracingPolicy) -> tuple[date, date]:
    """The days the demo needs: the earliest case's look-back window (before its sampling or
    onset) up to the last report day."""
    first = min(min(c.sampled_on, c.onset_on or c.sampled_on) for c in cases)
    return first - timedelta(days=policy.lookback_days + 1), max(c.reported_on for c in cases)


def demo_scans(
    city: City, cases: Sequence[CaseRow], *, policy: TracingPolicy, seed: int
) -> pa.Table:
    """The demo's raw scans: every day the replayed cases' windows need, cases isolated
    from their report day."""
    start, end = demo_range(cases, policy)
    return generate(city, start=start, end=end, seed=seed, isolated_from=isolation_days(cases))


def csv_rows(raw: pa.Table) -> Iterator[tuple[str, str, str, str]]:
    """Rows for ``fangkong scans import``: ISO 8601 in local time with its offset, an
    empty ``left_at`` when the scanner recorded no exit."""
    for person, venue, entered, left in zip(
        raw["person_id"].to_pylist(),
        raw["venue_code"].to_pylist(),
        raw["entered_at"].to_pylist(),
        raw["left_at"].to_pylist(),
        strict=True,
    ):
        yield (person, venue, _iso(entered), _iso(left) if left else "")


def _iso(instant: datetime) -> str:
    return instant.astimezone(LOCAL_TZ).isoformat()
