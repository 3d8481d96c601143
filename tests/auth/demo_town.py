"""A demo-like store for the route walkers: the synthetic 淄博 at its smallest scale with
its outbreak imported, traced, a few days of quarantine (orders, transfers, site swabs, home
monitoring) and the mass-testing round, built once per module through the demo's own steps.

Everything personal in it is what the walkers look for: every person has an ID number, most
a phone, and an address down to building and room.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.demo import load, movement
from fangkong.demo import quarantine as demo_quarantine
from fangkong.demo import testing as demo_testing
from fangkong.demo.city import MIN_SCALE, build_city
from fangkong.demo.cli import NOW
from fangkong.demo.outbreak import replay
from fangkong.lake.layout import lake_root
from fangkong.people.models import Person
from fangkong.policy import Policy, load_policy
from fangkong.quarantine.models import QuarantineOrder
from fangkong.storage.db import session_factory, session_scope
from fangkong.zones import drawing, reopening
from tests.quarantine import factories

SEED = 2022
QUARANTINE_DAYS = 2  # orders, transfers, site swabs (home monitoring: below)
AT_HOME = 12  # persons of one community released to home monitoring


@dataclass(frozen=True)
class Secrets:
    """The personal data of the store, as a body must never show it unmasked."""

    # Names are masked in lists too (张*丰): the demo's are two or three characters that
    # nothing else on a page spells.

    names: frozenset[str]
    id_numbers: frozenset[str]
    phones: frozenset[str]
    rooms: frozenset[str]  # below the compound: 2号楼 1单元101, 1单元101

    def found_in(self, body: str) -> list[str]:
        hits = [v for v in self.names if v in body][:2]
        hits += [v for v in self.id_numbers if v in body][:2]
        hits += [v for v in self.phones if v in body][:2]
        hits += [v for v in self.rooms if v in body][:2]
        return hits


def build(engine: Engine, home: Path) -> None:
    policy = load_policy("zibo-2022-03")
    city = build_city(seed=SEED, scale=MIN_SCALE)
    cases = replay(city, seed=SEED)
    raw = movement.demo_scans(city, cases, policy=policy.tracing, seed=SEED)
    files = load.csv_files(city, cases)
    sessions = session_factory(engine)
    for name, data in files.items():
        with session_scope(sessions) as session:
            load.import_file(session, name, data, now=NOW)
    lake = lake_root(home)
    load.fill_lake(lake, raw, city, policy)
    first = NOW.date() - timedelta(days=QUARANTINE_DAYS - 1)
    with session_scope(sessions) as session:
        load.trace_all(session, lake=lake, policy=policy, now=NOW, since=first)
    with session_scope(sessions) as session:
        demo_quarantine.run(
            session,
            lake=lake,
            policy=policy,
            first=first,
            last=NOW.date(),
            now=NOW,
            seed=SEED,
            site_file=demo_quarantine.sites_csv(session, SEED),
        )
    with session_scope(sessions) as session:
        demo_testing.run(session, lake=lake, policy=policy, now=NOW, seed=SEED)
    with session_scope(sessions) as session:
        _at_home(session, policy)
    with session_scope(sessions) as session:
        _zones(session, policy)


def _zones(session: Session, policy: Policy) -> None:
    """The day's zones proposed from its cases, the first (a sealed compound, with
    residents) put in force, and 淄博's reopening decision of 23 March."""
    scope = bind("city", "3703")
    proposed = drawing.propose_zones(
        session, day=NOW.date(), policy=policy, scope=scope, now=NOW, by="walker"
    )
    assert proposed, "no zone proposed for the day's cases"
    drawing.confirm(
        session, code=proposed[0].code, scope=scope, effective_at=NOW, now=NOW, by="walker"
    )
    reopening.import_decision(
        session, text=reopening.builtin_text("zibo-2022-03-23"), now=NOW, by="walker"
    )


def _at_home(session: Session, policy: Policy) -> None:
    """A community's households in their home-monitoring days, as seven days at a site
    leave them (the replay's last days are too few to get there, and days cost time)."""
    community = session.scalar(
        select(Person.community_id)
        .where(Person.community_id.is_not(None), Person.phone.is_not(None))
        .group_by(Person.community_id)
        .order_by(func.count().desc(), Person.community_id)
        .limit(1)
    )
    ordered = select(QuarantineOrder.person_id)
    persons = session.scalars(
        select(Person)
        .where(
            Person.community_id == community,
            Person.phone.is_not(None),
            Person.id.not_in(ordered),
        )
        .order_by(Person.person_no)
        .limit(AT_HOME)
    )
    start = NOW.date() - timedelta(days=8)
    for person in persons:
        factories.order_row(
            session,
            person,
            start=start,
            policy=policy,
            kind="secondary",
            status="in_home_monitoring",
            order_no=f"QH-{person.person_no}",
            at=NOW,
            with_tests=True,
        )


def secrets(engine: Engine) -> Secrets:
    with engine.connect() as conn:
        ids = conn.execute(
            text(
                "SELECT id_number FROM person WHERE id_number IS NOT NULL UNION "
                'SELECT id_number FROM "case" WHERE id_number IS NOT NULL'
            )
        )
        names = conn.execute(
            text('SELECT name FROM person UNION SELECT name FROM "case" WHERE name IS NOT NULL')
        )
        phones = conn.execute(text("SELECT phone FROM person WHERE phone IS NOT NULL"))
        rooms = conn.execute(
            text(
                "SELECT DISTINCT b.name, p.room FROM person p "
                "JOIN building b ON b.id = p.building_id WHERE p.room IS NOT NULL"
            )
        )
        # A room alone ("1号") may be part of anything; with its 单元 ("1单元101"), or
        # after its building as an address line reads ("2号楼 1号"), it is the address.
        below = {f"{building} {room}" for building, room in rooms}
        below |= {a.split(" ", 1)[1] for a in below if "单元" in a}
        return Secrets(
            frozenset(r[0] for r in names),
            frozenset(r[0] for r in ids),
            frozenset(r[0] for r in phones),
            frozenset(below),
        )


def scalar(engine: Engine, sql: str) -> str:
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    assert value is not None, sql
    return str(value)
