"""The engine's contacts equal a brute-force reference over all pairs of visits, on random
small cities written into a temporary lake (DuckDB)."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangkong.lake.engine import connect
from fangkong.policy import Policy, load_policy
from fangkong.tracing import query, rules
from fangkong.tracing.rules import Membership

from .helpers import Scan, local, write_scans

FIRST = date(2022, 3, 1)
DAYS = 6
CATEGORIES = ("supermarket", "park", "restaurant")
CON = connect("duckdb")


@dataclass
class City:
    households: dict[str, str | None]
    units: dict[str, str | None]
    categories: dict[str, str]
    scans: list[Scan]
    cases: list[tuple[str, date, date]]  # person, onset, report
    edition: str


@st.composite
def cities(draw: st.DrawFn) -> City:
    n = draw(st.integers(2, 30))
    persons = [f"P{i}" for i in range(n)]
    households = {p: draw(st.sampled_from([None, "H0", "H1", "H2", "H3"])) for p in persons}
    units = {p: draw(st.sampled_from([None, "U0", "U1", "U2"])) for p in persons}
    venues = [f"V{i}" for i in range(draw(st.integers(1, 6)))]
    categories = {v: draw(st.sampled_from(CATEGORIES)) for v in venues}
    scans: list[Scan] = []
    for _ in range(draw(st.integers(0, 80))):
        start = local(FIRST, 0) + timedelta(
            minutes=draw(st.integers(0, DAYS * 24 * 60 - 1)), seconds=draw(st.sampled_from([0, 30]))
        )
        minutes = draw(st.sampled_from([1, 5, 14, 15, 16, 30, 60, 120, 600]))
        scans.append(
            (
                draw(st.sampled_from(persons)),
                draw(st.sampled_from(venues)),
                start,
                start + timedelta(minutes=minutes),
            )
        )
    # Dense co-presence: some visits start exactly when others do, or end.
    for _ in range(draw(st.integers(0, 10))):
        if scans:
            other = draw(st.sampled_from(scans))
            start = draw(st.sampled_from([other[2], other[3]]))
            minutes = draw(st.sampled_from([14, 15, 30]))
            scans.append(
                (
                    draw(st.sampled_from(persons)),
                    other[1],
                    start,
                    start + timedelta(minutes=minutes),
                )
            )
    case_persons = draw(st.lists(st.sampled_from(persons), min_size=1, max_size=3, unique=True))
    cases = []
    for p in case_persons:
        onset = FIRST + timedelta(days=draw(st.integers(0, DAYS - 1)))
        cases.append((p, onset, onset + timedelta(days=draw(st.integers(0, 2)))))
    edition = draw(st.sampled_from(["national-8", "national-9", "measures-20"]))
    return City(households, units, categories, scans, cases, edition)


def members(city: City, person: str) -> list[Membership]:
    found = []
    for other in sorted(city.households):
        if other == person:
            continue
        if city.households[person] and city.households[other] == city.households[person]:
            found.append(Membership(other, "household", household_no=city.households[person]))
        if city.units[person] and city.units[other] == city.units[person]:
            found.append(Membership(other, "workplace_unit", workplace_unit=city.units[person]))
    return found


Outcome = dict[str, tuple[str, frozenset[tuple[str, datetime, datetime]]]]


def engine_contacts(city: City, lake: Path, policy: Policy) -> dict[str, Outcome]:
    windows = []
    for i, (p, onset, report) in enumerate(city.cases):
        w = rules.lookback_window(
            onset_on=onset, sampled_on=None, reported_on=report, policy=policy
        )
        windows.append(query.CaseWindow(f"C{i}", p, w.start, w.end))
    exposures = query.exposures(CON, lake, windows)
    result = {}
    for w in windows:
        found = rules.direct_contacts(
            case_person=w.person_id,
            exposures=exposures[w.case_no],
            members=members(city, w.person_id),
            categories=city.categories,
            policy=policy,
        )
        closes = rules.close_ids(found)
        rules.with_secondary(
            found,
            case_person=w.person_id,
            members_of={c: members(city, c) for c in closes},
            policy=policy,
        )
        result[w.case_no] = {
            p: (
                f.degree.value,
                frozenset(
                    (r.venue_code, r.overlap_start, r.overlap_end)
                    for r in f.reasons
                    if r.kind == "venue" and r.venue_code and r.overlap_start and r.overlap_end
                ),
            )
            for p, f in found.items()
        }
    return result


def reference(city: City, policy: Policy) -> dict[str, Outcome]:
    """All pairs of visits, in plain Python."""
    t = policy.tracing
    rank = {"close": 3, "secondary": 2, "general": 1}
    result = {}
    for i, (c, onset, report) in enumerate(city.cases):
        start = local(onset - timedelta(days=t.lookback_days), 0)
        end = local(report + timedelta(days=1), 0)
        degree: dict[str, str] = {}
        venues: dict[str, set[tuple[str, datetime, datetime]]] = defaultdict(set)

        def put(p: str, d: str, degree: dict[str, str] = degree, c: str = c) -> None:
            if p != c and rank[d] > rank.get(degree.get(p, ""), 0):
                degree[p] = d

        for m in members(city, c):
            put(m.person_id, "close")
        for pc, vc, ec, lc in city.scans:
            if pc != c:
                continue
            s, e = max(ec, start), min(lc, end)
            if s >= e:
                continue
            for po, vo, eo, lo in city.scans:
                if po == c or vo != vc or city.categories[vo] in t.excluded_venue_categories:
                    continue
                os_, oe = max(s, eo), min(e, lo)
                if os_ >= oe:
                    continue
                minutes = (oe - os_).total_seconds() / 60
                if minutes >= t.min_overlap_minutes:
                    put(po, "close")
                elif t.identify_general:
                    put(po, "general")
                else:
                    continue
                venues[po].add((vo, os_, oe))
        if t.identify_secondary:
            for close in [p for p, d in degree.items() if d == "close"]:
                for m in members(city, close):
                    put(m.person_id, "secondary")
        result[f"C{i}"] = {p: (d, frozenset(venues[p])) for p, d in degree.items()}
    return result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cities())
def test_engine_equals_brute_force(city: City) -> None:
    policy = load_policy(city.edition)
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp)
        write_scans(lake, city.scans)
        assert engine_contacts(city, lake, policy) == reference(city, policy)
