"""Placing a day's close contacts in rooms of centralized quarantine sites (集中隔离点, RULES §3),
pure: people, free rooms and sites in; who sleeps in which room, and who could not be placed
and why, out.

The rules it keeps:

- A room holds one household (住户) or one person, never two households: quarantine rooms are
  not shared between strangers. A person without a household is a household of one.
- A household shares one room when a free room has beds for all of it. A member who
  ``needs_single_room`` gets a room alone, in the same site as the rest of the household.
- Each household goes to the nearest site that can take it whole; within the site it gets the
  smallest room that fits (best fit), which keeps big rooms for big households.
- Beds are never exceeded. ``Room.beds`` is the number of free beds now, so a room already
  partly used by its own household is passed in with what is left; a room with no free bed
  is ignored. Beds left over in a room a household takes are not offered to anyone else.
- A household is placed whole or not at all, so the list of the unplaced names whole
  households an operator can act on.
- With ``split_households``, a household that no free room can hold whole is spread over the
  fewest rooms of the nearest site with enough of them; its members never span two sites.

Hard households go first: the largest room demand, then the whole household's size, then the
distance to its nearest site (ids break ties). People without a location come last, after
every located household, and try the sites in ``site_id`` order.

Distance is equirectangular (longitude scaled by the cosine of the household's latitude): it
only ranks the sites of one city against each other, where it orders them as the great circle
does, at a fraction of the cost. A household's location is the mean of its located members.

Cost: O(S log S) per household to rank S sites, and O(log R) per room taken from a site's
sorted list of free rooms (plus a short list shift), so a day's contacts over a city's sites
plan in well under a second.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# Household key of someone without a household; the prefix keeps it apart from household ids.
SOLO_PREFIX = "person:"


@dataclass(frozen=True, slots=True)
class Person:
    person_id: str
    household: str | None
    lon: float | None
    lat: float | None
    needs_single_room: bool = False

    @property
    def household_key(self) -> str:
        return self.household if self.household is not None else SOLO_PREFIX + self.person_id

    @property
    def located(self) -> bool:
        return self.lon is not None and self.lat is not None


@dataclass(frozen=True, slots=True)
class Room:
    """A room with ``beds`` free beds now."""

    room_id: str
    site_id: str
    beds: int


@dataclass(frozen=True, slots=True)
class Site:
    site_id: str
    name: str
    lon: float
    lat: float
    district_code: str


class UnplacedReason(StrEnum):
    # Rooms that could take the household exist, but none of them is free any more.
    no_capacity = "no_capacity"
    # Larger than every free room given (there are some), and splitting was not allowed.
    household_too_large = "household_too_large"


UNPLACED_LABELS: dict[str, str] = {
    UnplacedReason.no_capacity: "隔离点房间已满",
    UnplacedReason.household_too_large: "无可容纳整户的房间",
}


@dataclass(frozen=True, slots=True)
class Unplaced:
    person_id: str
    household: str | None
    reason: UnplacedReason


@dataclass(frozen=True)
class Assignment:
    """``placed`` and ``site_of`` map person to room and site; ``rooms_used`` maps each room
    taken to the household key in it; ``unplaced`` is sorted by household key, then person."""

    placed: dict[str, str]
    site_of: dict[str, str]
    rooms_used: dict[str, str]
    unplaced: list[Unplaced]


_FreeRoom = tuple[int, str]  # (beds, room_id): sorts best fit first, ties by room id


class _FreeRooms:
    """One site's free rooms, sorted, so the smallest room with enough beds is one bisect."""

    __slots__ = ("beds", "rooms")

    def __init__(self) -> None:
        self.rooms: list[_FreeRoom] = []
        self.beds = 0

    def fits_whole(self, together: int, alone: int) -> bool:
        needed = alone + (1 if together else 0)
        if len(self.rooms) < needed:
            return False
        return together == 0 or self.rooms[-1][0] >= together

    def take_whole(self, together: int, alone: int) -> list[list[_FreeRoom]]:
        groups: list[list[_FreeRoom]] = []
        if together:
            groups.append([self.rooms.pop(bisect_left(self.rooms, (together, "")))])
        groups.extend(self._take_smallest(alone))
        self.beds -= sum(r[0] for g in groups for r in g)
        return groups

    def take_split(self, together: int, alone: int) -> list[list[_FreeRoom]] | None:
        # Largest rooms first until the rest fits one room, then the best fit for the rest:
        # as few rooms as any choice, with the least left empty in the last one.
        if self.beds < together + alone:
            return None
        shared: list[_FreeRoom] = []
        remaining = together
        while remaining > 0 and self.rooms:
            i = bisect_left(self.rooms, (remaining, ""))
            room = self.rooms.pop(i if i < len(self.rooms) else -1)
            shared.append(room)
            remaining -= room[0]
        if remaining > 0 or len(self.rooms) < alone:
            for room in shared:
                insort(self.rooms, room)
            return None
        groups = [shared, *self._take_smallest(alone)]
        self.beds -= sum(r[0] for g in groups for r in g)
        return groups

    def _take_smallest(self, count: int) -> list[list[_FreeRoom]]:
        taken = self.rooms[:count]
        del self.rooms[:count]
        return [[room] for room in taken]


@dataclass(slots=True)
class _Household:
    key: str
    together: list[Person]  # share a room (or, split, a few rooms)
    alone: list[Person]  # each needs a room alone
    sites: list[int] | None  # site indexes, nearest first; None without any location
    nearest: float

    @property
    def size(self) -> int:
        return len(self.together) + len(self.alone)

    def sort_key(self) -> tuple[bool, int, int, float, str]:
        demand = len(self.together) or (1 if self.alone else 0)
        return (self.sites is None, -demand, -self.size, self.nearest, self.key)


def _households(persons: Iterable[Person], sites: list[Site]) -> list[_Household]:
    members: dict[str, list[Person]] = defaultdict(list)
    seen: set[str] = set()
    for p in persons:
        if p.person_id in seen:
            raise ValueError(f"person {p.person_id!r} given twice")
        seen.add(p.person_id)
        members[p.household_key].append(p)
    coords = [(s.lon, s.lat) for s in sites]
    households: list[_Household] = []
    for key, people in members.items():
        people.sort(key=lambda p: p.person_id)
        here = [(p.lon, p.lat) for p in people if p.lon is not None and p.lat is not None]
        order: list[int] | None = None
        nearest = math.inf
        if here:
            lon = sum(x for x, _ in here) / len(here)
            lat = sum(y for _, y in here) / len(here)
            scale = math.cos(math.radians(lat))
            d2 = [((x - lon) * scale) ** 2 + (y - lat) ** 2 for x, y in coords]
            # Sites are sorted by id and sorted() is stable, so equal distances go by site id.
            order = sorted(range(len(coords)), key=d2.__getitem__)
            nearest = d2[order[0]] if order else math.inf
        households.append(
            _Household(
                key=key,
                together=[p for p in people if not p.needs_single_room],
                alone=[p for p in people if p.needs_single_room],
                sites=order,
                nearest=nearest,
            )
        )
    households.sort(key=_Household.sort_key)
    return households


def assign_rooms(
    persons: Iterable[Person],
    rooms: Iterable[Room],
    sites: Iterable[Site],
    *,
    split_households: bool = False,
) -> Assignment:
    """Place ``persons`` in ``rooms`` of ``sites`` (see the module docstring for the rules).

    The result depends on the inputs only, not on their order. Raises ``ValueError`` for a
    duplicate id, a room of an unknown site, or negative beds.
    """
    site_list = sorted(sites, key=lambda s: s.site_id)
    index = {s.site_id: i for i, s in enumerate(site_list)}
    if len(index) != len(site_list):
        raise ValueError("a site is given twice")
    free = [_FreeRooms() for _ in site_list]
    room_ids: set[str] = set()
    largest = 0
    for room in rooms:
        if room.room_id in room_ids:
            raise ValueError(f"room {room.room_id!r} given twice")
        room_ids.add(room.room_id)
        if room.site_id not in index:
            raise ValueError(f"room {room.room_id!r} is in unknown site {room.site_id!r}")
        if room.beds < 0:
            raise ValueError(f"room {room.room_id!r} has {room.beds} free beds")
        if room.beds:
            site = free[index[room.site_id]]
            site.rooms.append((room.beds, room.room_id))
            site.beds += room.beds
            largest = max(largest, room.beds)
    for site in free:
        site.rooms.sort()

    by_id_order = list(range(len(site_list)))
    placed: dict[str, str] = {}
    site_of: dict[str, str] = {}
    rooms_used: dict[str, str] = {}
    unplaced: list[Unplaced] = []
    for hh in _households(persons, site_list):
        together, alone = len(hh.together), len(hh.alone)
        order = hh.sites if hh.sites is not None else by_id_order
        groups: list[list[_FreeRoom]] | None = None
        chosen = -1
        if together <= largest:
            for i in order:
                if free[i].fits_whole(together, alone):
                    groups, chosen = free[i].take_whole(together, alone), i
                    break
        # Splitting only helps a shared group of two or more that no single room took.
        if groups is None and split_households and together > 1:
            for i in order:
                groups = free[i].take_split(together, alone)
                if groups is not None:
                    chosen = i
                    break
        if groups is None:
            # With no free room at all, size is beside the point: the sites are full.
            too_large = 0 < largest < together and not split_households
            reason = UnplacedReason.household_too_large if too_large else UnplacedReason.no_capacity
            unplaced.extend(
                Unplaced(p.person_id, p.household, reason) for p in (*hh.together, *hh.alone)
            )
            continue
        site_id = site_list[chosen].site_id
        shared = groups[0] if together else []
        people = iter(hh.together)
        for beds, room_id in shared:
            rooms_used[room_id] = hh.key
            for _, p in zip(range(beds), people, strict=False):
                placed[p.person_id] = room_id
        for p, group in zip(hh.alone, groups[1:] if together else groups, strict=True):
            room_id = group[0][1]
            rooms_used[room_id] = hh.key
            placed[p.person_id] = room_id
        for p in (*hh.together, *hh.alone):
            site_of[p.person_id] = site_id

    unplaced.sort(key=lambda u: (u.household or SOLO_PREFIX + u.person_id, u.person_id))
    return Assignment(
        placed=dict(sorted(placed.items())),
        site_of=dict(sorted(site_of.items())),
        rooms_used=dict(sorted(rooms_used.items())),
        unplaced=unplaced,
    )


@dataclass(frozen=True, slots=True)
class SiteOccupancy:
    """One site before and after a plan. ``beds_left`` counts only beds in rooms still free:
    beds left over in a taken room stay with its household."""

    site_id: str
    rooms_free: int
    beds_free: int
    rooms_taken: int
    persons_placed: int
    rooms_left: int
    beds_left: int


def occupancy(
    assignment: Assignment, rooms: Iterable[Room], sites: Iterable[Site]
) -> dict[str, SiteOccupancy]:
    """Per site, sorted by id: free rooms and beds before the plan, what it took, what is left."""
    rooms_free: Counter[str] = Counter()
    beds_free: Counter[str] = Counter()
    rooms_taken: Counter[str] = Counter()
    beds_taken: Counter[str] = Counter()
    for room in rooms:
        if room.beds <= 0:
            continue
        rooms_free[room.site_id] += 1
        beds_free[room.site_id] += room.beds
        if room.room_id in assignment.rooms_used:
            rooms_taken[room.site_id] += 1
            beds_taken[room.site_id] += room.beds
    placed = Counter(assignment.site_of.values())
    return {
        s.site_id: SiteOccupancy(
            site_id=s.site_id,
            rooms_free=rooms_free[s.site_id],
            beds_free=beds_free[s.site_id],
            rooms_taken=rooms_taken[s.site_id],
            persons_placed=placed[s.site_id],
            rooms_left=rooms_free[s.site_id] - rooms_taken[s.site_id],
            beds_left=beds_free[s.site_id] - beds_taken[s.site_id],
        )
        for s in sorted(sites, key=lambda s: s.site_id)
    }


def summary(
    assignment: Assignment, rooms: Iterable[Room], sites: Iterable[Site]
) -> dict[str, object]:
    """Totals and one row per site, ready for JSON or a table on the command page."""
    site_list = sorted(sites, key=lambda s: s.site_id)
    per_site = occupancy(assignment, rooms, site_list)
    rooms_per_household = Counter(assignment.rooms_used.values())
    unplaced_households = {u.household or SOLO_PREFIX + u.person_id for u in assignment.unplaced}
    return {
        "persons": len(assignment.placed) + len(assignment.unplaced),
        "placed": len(assignment.placed),
        "unplaced": len(assignment.unplaced),
        "unplaced_by_reason": dict(
            sorted(Counter(u.reason.value for u in assignment.unplaced).items())
        ),
        "households_placed": len(rooms_per_household),
        "households_in_several_rooms": sum(1 for n in rooms_per_household.values() if n > 1),
        "households_unplaced": len(unplaced_households),
        "sites": [
            {
                "site_id": s.site_id,
                "name": s.name,
                "district_code": s.district_code,
                "placed": per_site[s.site_id].persons_placed,
                "rooms_taken": per_site[s.site_id].rooms_taken,
                "rooms_left": per_site[s.site_id].rooms_left,
                "beds_left": per_site[s.site_id].beds_left,
            }
            for s in site_list
        ],
    }
