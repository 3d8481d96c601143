"""Placing people in quarantine-site rooms: worked examples, then properties over random
households, rooms and sites, then one run at a day's scale."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.quarantine.assignment import (
    SOLO_PREFIX,
    Assignment,
    Person,
    Room,
    Site,
    Unplaced,
    UnplacedReason,
    assign_rooms,
    occupancy,
    summary,
)

# Zibo: 张店 in the middle, 桓台 to the north, 淄川 to the south.
ZHANGDIAN = Site("zd", "张店隔离点", 118.05, 36.80, "370303")
HUANTAI = Site("ht", "桓台隔离点", 118.10, 36.96, "370321")
ZICHUAN = Site("zc", "淄川隔离点", 117.97, 36.64, "370302")
NEAR_ZHANGDIAN = (118.06, 36.81)


def person(
    pid: str,
    household: str | None = None,
    *,
    at: tuple[float, float] | None = None,
    single: bool = False,
) -> Person:
    lon, lat = at if at is not None else NEAR_ZHANGDIAN
    return Person(pid, household, lon, lat, single)


def family(household: str, size: int, at: tuple[float, float] = NEAR_ZHANGDIAN) -> list[Person]:
    return [person(f"{household}-{i}", household, at=at) for i in range(size)]


def rooms_of(assignment: Assignment, household: str) -> set[str]:
    return {r for r, h in assignment.rooms_used.items() if h == household}


def test_a_household_of_three_gets_the_three_bed_room_not_the_four_bed_one() -> None:
    rooms = [Room("r4", "zd", 4), Room("r3", "zd", 3), Room("r2", "zd", 2)]
    a = assign_rooms(family("h", 3), rooms, [ZHANGDIAN])
    assert set(a.placed.values()) == {"r3"}
    assert a.rooms_used == {"r3": "h"}
    assert a.unplaced == []


def test_the_big_room_is_kept_for_the_big_household_whatever_the_input_order() -> None:
    persons = [*family("small", 2), *family("big", 4)]
    rooms = [Room("r2", "zd", 2), Room("r4", "zd", 4)]
    a = assign_rooms(persons, rooms, [ZHANGDIAN])
    assert a.rooms_used == {"r2": "small", "r4": "big"}


def test_the_nearest_site_is_preferred() -> None:
    rooms = [Room("zd-1", "zd", 2), Room("ht-1", "ht", 2), Room("zc-1", "zc", 2)]
    sites = [ZHANGDIAN, HUANTAI, ZICHUAN]
    a = assign_rooms([person("north", at=(118.11, 36.97))], rooms, sites)
    assert a.placed == {"north": "ht-1"}
    assert a.site_of == {"north": "ht"}
    a = assign_rooms([person("south", at=(117.96, 36.63))], rooms, sites)
    assert a.site_of == {"south": "zc"}


def test_a_full_nearest_site_sends_people_to_the_next_nearest() -> None:
    rooms = [Room("zd-1", "zd", 1), Room("ht-1", "ht", 1), Room("zc-1", "zc", 1)]
    # Both live by 张店; from there 淄川 (18 km) is nearer than 桓台 (19 km).
    persons = [person("a", at=(118.05, 36.79)), person("b", at=(118.05, 36.79))]
    a = assign_rooms(persons, rooms, [ZHANGDIAN, HUANTAI, ZICHUAN])
    assert a.placed == {"a": "zd-1", "b": "zc-1"}


def test_a_household_larger_than_every_room_is_unplaced_as_too_large() -> None:
    rooms = [Room("r2", "zd", 2), Room("r3", "zd", 3), Room("ht-4", "ht", 4)]
    persons = [*family("h", 5), person("solo")]
    a = assign_rooms(persons, rooms, [ZHANGDIAN, HUANTAI])
    assert a.placed == {"solo": "r2"}
    assert a.unplaced == [
        Unplaced(f"h-{i}", "h", UnplacedReason.household_too_large) for i in range(5)
    ]


def test_with_split_a_large_household_takes_the_fewest_rooms_of_one_site() -> None:
    # 张店 could take five in 2 + 3 + 1 or 4 + 1; 桓台 has 4 + 2 but is further.
    rooms = [
        Room("zd-1", "zd", 1),
        Room("zd-2", "zd", 2),
        Room("zd-3", "zd", 3),
        Room("zd-4", "zd", 4),
        Room("ht-4", "ht", 4),
        Room("ht-2", "ht", 2),
    ]
    a = assign_rooms(family("h", 5), rooms, [ZHANGDIAN, HUANTAI], split_households=True)
    assert a.unplaced == []
    assert rooms_of(a, "h") == {"zd-4", "zd-1"}
    assert set(a.site_of.values()) == {"zd"}
    assert Counter(a.placed.values()) == {"zd-4": 4, "zd-1": 1}


def test_with_split_a_site_without_enough_beds_is_passed_over() -> None:
    rooms = [
        Room("zd-2", "zd", 2),
        Room("zd-3", "zd", 3),
        Room("ht-3", "ht", 3),
        Room("ht-4", "ht", 4),
    ]
    a = assign_rooms(family("h", 6), rooms, [ZHANGDIAN, HUANTAI], split_households=True)
    assert rooms_of(a, "h") == {"ht-3", "ht-4"}


def test_a_household_that_fits_whole_further_away_is_not_split_nearby() -> None:
    rooms = [Room("zd-2a", "zd", 2), Room("zd-2b", "zd", 2), Room("ht-4", "ht", 4)]
    a = assign_rooms(family("h", 4), rooms, [ZHANGDIAN, HUANTAI], split_households=True)
    assert rooms_of(a, "h") == {"ht-4"}


def test_without_rooms_everyone_is_unplaced_for_capacity() -> None:
    persons = [*family("h", 3), Person("solo", None, None, None)]
    for rooms in ([], [Room("full", "zd", 0)]):
        a = assign_rooms(persons, rooms, [ZHANGDIAN])
        assert a.placed == {}
        assert {u.person_id for u in a.unplaced} == {p.person_id for p in persons}
        assert {u.reason for u in a.unplaced} == {UnplacedReason.no_capacity}
    assert assign_rooms(persons, [], []).placed == {}


def test_people_without_a_location_come_after_the_located() -> None:
    # The unlocated household is bigger, yet the located solo takes the one room first.
    unlocated = [Person(f"u{i}", "u", None, None) for i in range(2)]
    a = assign_rooms([*unlocated, person("located")], [Room("r2", "zd", 2)], [ZHANGDIAN])
    assert a.placed == {"located": "r2"}
    assert {u.person_id for u in a.unplaced} == {"u0", "u1"}
    assert {u.reason for u in a.unplaced} == {UnplacedReason.no_capacity}


def test_people_without_a_location_go_to_sites_in_id_order() -> None:
    rooms = [Room("zd-1", "zd", 1), Room("ht-1", "ht", 1)]
    a = assign_rooms([Person("x", None, None, None)], rooms, [ZHANGDIAN, HUANTAI])
    assert a.site_of == {"x": "ht"}


def test_a_household_with_some_members_located_uses_their_location() -> None:
    rooms = [Room("zd-2", "zd", 2), Room("ht-2", "ht", 2)]
    persons = [Person("a", "h", None, None), person("b", "h", at=(118.10, 36.95))]
    a = assign_rooms(persons, rooms, [ZHANGDIAN, HUANTAI])
    assert a.placed == {"a": "ht-2", "b": "ht-2"}


def test_a_member_needing_a_single_room_sleeps_alone_in_the_household_site() -> None:
    rooms = [Room("zd-1", "zd", 1), Room("zd-2", "zd", 2), Room("zd-3", "zd", 3)]
    persons = [*family("h", 2), person("h-elder", "h", single=True)]
    a = assign_rooms(persons, rooms, [ZHANGDIAN])
    assert a.placed == {"h-0": "zd-2", "h-1": "zd-2", "h-elder": "zd-1"}
    assert a.rooms_used == {"zd-1": "h", "zd-2": "h"}


def test_a_household_is_placed_whole_or_not_at_all() -> None:
    # Room for the shared pair but not for the member who must sleep alone.
    persons = [*family("h", 2), person("h-elder", "h", single=True)]
    a = assign_rooms(persons, [Room("zd-2", "zd", 2)], [ZHANGDIAN])
    assert a.placed == {}
    assert [u.person_id for u in a.unplaced] == ["h-0", "h-1", "h-elder"]


def test_people_without_a_household_never_share_a_room() -> None:
    a = assign_rooms([person("a"), person("b")], [Room("r4", "zd", 4)], [ZHANGDIAN])
    assert a.placed == {"a": "r4"}
    assert a.rooms_used == {"r4": SOLO_PREFIX + "a"}
    assert a.unplaced == [Unplaced("b", None, UnplacedReason.no_capacity)]


@pytest.mark.parametrize(
    ("rooms", "sites", "message"),
    [
        ([Room("r", "zd", 1), Room("r", "zd", 1)], [ZHANGDIAN], "given twice"),
        ([Room("r", "nowhere", 1)], [ZHANGDIAN], "unknown site"),
        ([Room("r", "zd", -1)], [ZHANGDIAN], "free beds"),
        ([], [ZHANGDIAN, ZHANGDIAN], "site is given twice"),
    ],
)
def test_inconsistent_rooms_and_sites_are_refused(
    rooms: list[Room], sites: list[Site], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        assign_rooms([], rooms, sites)


def test_a_person_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="given twice"):
        assign_rooms([person("a"), person("a")], [], [])


def test_summary_and_occupancy_count_per_site() -> None:
    rooms = [
        Room("zd-2", "zd", 2),
        Room("zd-4", "zd", 4),
        Room("ht-1", "ht", 1),
        Room("x", "ht", 0),
    ]
    persons = [*family("h", 3), person("solo", at=(118.10, 36.96)), *family("big", 6)]
    sites = [ZHANGDIAN, HUANTAI]
    a = assign_rooms(persons, rooms, sites)
    occ = occupancy(a, rooms, sites)
    assert occ["zd"].rooms_free == 2
    assert occ["zd"].beds_free == 6
    assert occ["zd"].rooms_taken == 1
    assert occ["zd"].persons_placed == 3
    assert (occ["zd"].rooms_left, occ["zd"].beds_left) == (1, 2)
    assert (occ["ht"].rooms_free, occ["ht"].rooms_left, occ["ht"].persons_placed) == (1, 0, 1)
    s = summary(a, rooms, sites)
    assert s["persons"] == 10
    assert s["placed"] == 4
    assert s["unplaced_by_reason"] == {"household_too_large": 6}
    assert s["households_placed"] == 2
    assert s["households_unplaced"] == 1
    assert s["sites"] == [
        {
            "site_id": "ht",
            "name": "桓台隔离点",
            "district_code": "370321",
            "placed": 1,
            "rooms_taken": 1,
            "rooms_left": 0,
            "beds_left": 0,
        },
        {
            "site_id": "zd",
            "name": "张店隔离点",
            "district_code": "370303",
            "placed": 3,
            "rooms_taken": 1,
            "rooms_left": 1,
            "beds_left": 2,
        },
    ]


# --- properties --------------------------------------------------------------------------

SITE_IDS = ["s0", "s1", "s2", "s3"]


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Person], list[Room], list[Site]]:
    coord = st.tuples(st.floats(117.7, 118.3), st.floats(36.5, 37.1))
    site_ids = draw(st.lists(st.sampled_from(SITE_IDS), min_size=1, max_size=4, unique=True))
    sites = [Site(s, s, *draw(coord), "370300") for s in site_ids]
    room_beds = draw(st.lists(st.tuples(st.sampled_from(site_ids), st.integers(0, 4)), max_size=14))
    rooms = [Room(f"r{i}", s, beds) for i, (s, beds) in enumerate(room_beds)]
    persons = []
    for i in range(draw(st.integers(0, 18))):
        household = draw(st.sampled_from([None, "h0", "h1", "h2", "h3", "h4"]))
        at = draw(st.none() | coord)
        single = draw(st.integers(0, 5)) == 0
        lon, lat = at if at is not None else (None, None)
        persons.append(Person(f"p{i:02d}", household, lon, lat, single))
    return persons, rooms, sites


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2
    h += math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def fits_whole(beds: list[int], together: int, alone: int) -> bool:
    needed = alone + (1 if together else 0)
    return len(beds) >= needed and (together == 0 or max(beds, default=0) >= together)


def fits_split(beds: list[int], together: int, alone: int) -> bool:
    # Fewest rooms for the shared group are the largest ones; each lone member needs one more.
    largest_first = sorted(beds, reverse=True)
    used, covered = 0, 0
    while covered < together and used < len(largest_first):
        covered += largest_first[used]
        used += 1
    return covered >= together and len(beds) - used >= alone


def check(persons: list[Person], rooms: list[Room], sites: list[Site], split: bool) -> Assignment:
    a = assign_rooms(persons, rooms, sites, split_households=split)
    room_by_id = {r.room_id: r for r in rooms}
    by_id = {p.person_id: p for p in persons}

    # Everyone exactly once: placed or unplaced.
    unplaced_ids = [u.person_id for u in a.unplaced]
    assert len(unplaced_ids) == len(set(unplaced_ids))
    assert set(a.placed).isdisjoint(unplaced_ids)
    assert set(a.placed) | set(unplaced_ids) == set(by_id)
    assert set(a.site_of) == set(a.placed)

    # Beds never exceeded; one household per room; people in the room's site.
    in_room: dict[str, list[Person]] = defaultdict(list)
    for pid, room_id in a.placed.items():
        in_room[room_id].append(by_id[pid])
        assert a.site_of[pid] == room_by_id[room_id].site_id
    assert set(in_room) == set(a.rooms_used)
    for room_id, people in in_room.items():
        assert len(people) <= room_by_id[room_id].beds
        assert {p.household_key for p in people} == {a.rooms_used[room_id]}
        if any(p.needs_single_room for p in people):
            assert len(people) == 1

    # Households whole or not at all, in one site; shared members in one room unless split.
    households: dict[str, list[Person]] = defaultdict(list)
    for p in persons:
        households[p.household_key].append(p)
    left = defaultdict(list)
    for r in rooms:
        if r.beds > 0 and r.room_id not in a.rooms_used:
            left[r.site_id].append(r.beds)
    largest = max((r.beds for r in rooms), default=0)
    reasons = {u.person_id: u.reason for u in a.unplaced}
    for members in households.values():
        together = [p for p in members if not p.needs_single_room]
        alone = len(members) - len(together)
        placed = [p for p in members if p.person_id in a.placed]
        assert placed in ([], members)
        if placed:
            assert len({a.site_of[p.person_id] for p in members}) == 1
            if not split:
                assert len({a.placed[p.person_id] for p in together}) <= 1
            continue
        (reason,) = {reasons[p.person_id] for p in members}
        if reason is UnplacedReason.household_too_large:
            assert not split
            assert 0 < largest < len(together)
            continue
        # Rooms are only ever taken, so what is left at the end was free at its turn too.
        for beds in left.values():
            assert not fits_whole(beds, len(together), alone)
            if split:
                assert not fits_split(beds, len(together), alone)
    return a


@settings(max_examples=80, deadline=None)
@given(cases(), st.booleans())
def test_assignments_keep_every_rule(
    case: tuple[list[Person], list[Room], list[Site]], split: bool
) -> None:
    check(*case, split)


@settings(max_examples=60, deadline=None)
@given(cases(), st.booleans(), st.randoms(use_true_random=False))
def test_assignments_depend_on_the_inputs_not_their_order(
    case: tuple[list[Person], list[Room], list[Site]], split: bool, rnd: random.Random
) -> None:
    persons, rooms, sites = case
    first = assign_rooms(persons, rooms, sites, split_households=split)
    assert assign_rooms(persons, rooms, sites, split_households=split) == first
    for items in (persons, rooms, sites):
        rnd.shuffle(items)
    assert assign_rooms(persons, rooms, sites, split_households=split) == first


@settings(max_examples=60, deadline=None)
@given(cases())
def test_a_household_placed_whole_had_no_clearly_nearer_site_that_fitted(
    case: tuple[list[Person], list[Room], list[Site]],
) -> None:
    persons, rooms, sites = case
    a = assign_rooms(persons, rooms, sites)
    site_by_id = {s.site_id: s for s in sites}
    left = defaultdict(list)
    for r in rooms:
        if r.beds > 0 and r.room_id not in a.rooms_used:
            left[r.site_id].append(r.beds)
    households: dict[str, list[Person]] = defaultdict(list)
    for p in persons:
        households[p.household_key].append(p)
    for members in households.values():
        here = [(p.lon, p.lat) for p in members if p.lon is not None and p.lat is not None]
        if not here or members[0].person_id not in a.site_of:
            continue
        lon = sum(x for x, _ in here) / len(here)
        lat = sum(y for _, y in here) / len(here)
        chosen = site_by_id[a.site_of[members[0].person_id]]
        limit = 0.99 * haversine_km(lon, lat, chosen.lon, chosen.lat)
        together = sum(1 for p in members if not p.needs_single_room)
        for s in sites:
            if haversine_km(lon, lat, s.lon, s.lat) < limit:
                assert not fits_whole(left[s.site_id], together, len(members) - together)


def test_a_day_of_contacts_over_a_hundred_sites_completes() -> None:
    rnd = random.Random(20220323)
    sites = [
        Site(
            f"s{i:03d}",
            f"隔离点{i}",
            117.7 + rnd.random() * 0.6,
            36.5 + rnd.random() * 0.6,
            "370300",
        )
        for i in range(100)
    ]
    rooms = [
        Room(f"s{i:03d}-{j:02d}", f"s{i:03d}", rnd.choice([1, 2, 2, 3, 4]))
        for i in range(100)
        for j in range(50)
    ]
    persons: list[Person] = []
    while len(persons) < 8000:
        size = rnd.choice([1, 1, 2, 3, 4, 5])
        household = f"h{len(persons)}" if size > 1 else None
        located = rnd.random() >= 0.05
        lon = 117.7 + rnd.random() * 0.6 if located else None
        lat = 36.5 + rnd.random() * 0.6 if located else None
        first = len(persons)
        persons.extend(
            Person(f"p{first + k:05d}", household, lon, lat, rnd.random() < 0.02)
            for k in range(size)
        )
    for split in (False, True):
        a = check(persons, rooms, sites, split)
        assert len(a.placed) > 5000
