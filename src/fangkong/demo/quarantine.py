"""Transfer, quarantine and monitoring in the demo: the HQ's evenings of March 2022 replayed.

Every day from the first report to the demo's evening, as a command HQ ran it:

- 12:00 ``plan_day``: orders for the contacts traced the day before and that day, rooms in
  the city's quarantine sites (imported from a site file, one per district with contacts,
  sized to the outbreak), a transfer per household; discharged cases start 7 days of
  rehabilitation observation at home.
- 14:00 the transfers arrive (on the last day the evening's ones are still on the road, so
  the board has work on it).
- 16:00 each site opens its round of the day's tests (single tubes) and swabs everyone due;
  the lab reports at 20:00 and the round is applied: every test negative — the replay's
  cases are reported by the bulletin, and the one whose person is in quarantine converts
  that person's order on their report day, with the case found via 集中隔离点.
- People at home (secondary contacts released into 7 days of home monitoring, discharged
  cases) report a temperature morning and evening through the same service the link page
  uses — simulated for the last ``MONITORED_DAYS`` days; a few run a fever, a few miss a
  window; the alert run at 23:00 raises the community follow-ups (a fever's referral is
  raised with its report), and the community closes most tasks the next morning.
- ``release_day`` each evening releases whoever's stage ended with every test negative (the
  last evening's are left for the HQ's button on the board).

Numbers are reproducible from the seed.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases import service as cases
from fangkong.clock import LOCAL_TZ
from fangkong.flows import positives, quarantine_day, rounds
from fangkong.monitoring import service as monitoring
from fangkong.monitoring import tasks as monitoring_tasks
from fangkong.policy import Policy
from fangkong.quarantine import placement, releases, site_swabs, sites
from fangkong.quarantine import service as quarantine
from fangkong.regions import service as regions
from fangkong.testing import results, samples
from fangkong.testing.fhir import LabResult, TubeResult
from fangkong.tracing import service as tracing

if TYPE_CHECKING:
    from fangkong.cases.models import Case

CITY = "3703"
LAB = "淄博市疾控中心实验室"
ROOMS_MARGIN = 1.0  # rooms per contact to plan the sites for
FEVER = 0.02  # share of reports with a temperature at or above 37.3 ℃
MISSED = 0.03  # share of report windows nobody reports in
# One large site per district with contacts (淄博 ran sites of a few hundred rooms).
# Reports are simulated for the last days only: enough for today's worklists and alerts,
# without a hundred thousand reports of earlier days nobody looks at in a demo.
MONITORED_DAYS = 1


@dataclass
class DemoQuarantine:
    days: int = 0
    sites: int = 0
    beds: int = 0
    orders: Counter[str] = field(default_factory=Counter)
    transfers: int = 0
    site_rounds: int = 0
    tubes: int = 0
    released: int = 0
    converted: list[str] = field(default_factory=list)
    reports: int = 0
    referrals: int = 0
    follow_ups: int = 0
    status: Counter[str] = field(default_factory=Counter)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


def sites_csv(session: Session, seed: int) -> str:
    """The site file: a site in each district with contacts, rooms of one to five beds, a
    room for each of the district's close and secondary contacts (a room is never shared
    between households)."""
    rng = random.Random(seed)
    # A room takes one household whatever its size, and members of a household found on
    # different days take a room each: a site is sized at a room per contact.
    contacts = tracing.contact_persons_by_district(session, degrees=("close", "secondary"))
    centres = regions.district_centers(CITY)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["隔离点编码", "隔离点名称", "区县", "地址", "经度", "纬度", "房间号", "床位数"]
    )
    # The busiest district's site is S01 (the demo's site staff user is bound to it).
    busiest = sorted(
        (d for d in regions.districts(CITY) if contacts.get(d.code)),
        key=lambda d: (-contacts[d.code], d.code),
    )
    for number, district in enumerate(busiest, start=1):
        wanted = int(contacts[district.code] * ROOMS_MARGIN)
        lon, lat = centres[district.code]
        code = f"S{number:02d}"
        name = f"{district.name}集中隔离点"
        where = (
            round(lon + rng.uniform(-0.04, 0.04), 5),
            round(lat + rng.uniform(-0.04, 0.04), 5),
        )
        rooms, floor = 0, 1
        while rooms < wanted:
            for r in range(1, 21):
                size = rng.choice((1, 2, 2, 3, 3, 4, 5))  # family rooms for households
                row = [code, name, district.name, f"{district.name}（演示地址）", *where]
                writer.writerow([*row, f"{floor}{r:02d}", size])
                rooms += 1
            floor += 1
    return out.getvalue()


def run(
    session: Session,
    *,
    lake: Path,
    policy: Policy,
    first: date,
    last: date,
    now: datetime,
    seed: int,
    site_file: str,
) -> DemoQuarantine:
    rng = random.Random(seed)
    scope = bind("city", CITY)
    result = DemoQuarantine()
    sites.import_sites(
        session, data=site_file.encode(), filename="sites.csv", now=_at(first, 8), scope=scope
    )
    occupancy = sites.occupancy(session, scope=scope)
    result.sites, result.beds = len(occupancy), sum(o.beds for o in occupancy)
    reported = _cases_by_day(session)
    day = first
    while day <= last:
        result.days += 1
        noon = _at(day, 12)
        made = quarantine_day.plan_day(
            session, day=day, policy=policy, now=noon, actor="demo", scope=scope
        )
        for order in made.contacts.orders + made.discharges.orders:
            result.orders[order.person_kind] += 1
        result.transfers += len(made.placement.transfers)
        if day < last:  # the last evening's transfers are still on the road
            pending = placement.transfers(session, scope=scope)
            placement.transfers_done(session, pending, now=_at(day, 14), actor="转运组")
        _test_sites(session, lake, policy, day, scope, result)
        for case in reported.get(day, []):
            if positives.after_new_cases(session, [case], now=_at(day, 21), by="demo"):
                result.converted.append(case.case_no)
        if day > last - timedelta(days=MONITORED_DAYS):
            end = min(_at(day, 23), now)
            _monitor(session, policy, day, end, rng, result)
            alerts = monitoring.run_alerts(session, day=day, now=end, policy=policy, scope=scope)
            result.referrals += alerts.referrals
            result.follow_ups += alerts.follow_ups
            if day < last:
                _close_tasks(session, day, _at(day + timedelta(days=1), 9), rng)
        if day < last:  # the last evening's releases are left for the HQ to run
            released = releases.release_day(
                session, day=day, now=_at(day, 22), actor="demo", scope=scope
            )
            result.released += len(released.released)
        day += timedelta(days=1)
    result.status = Counter(quarantine.status_counts(session, scope=scope))
    return result


def _cases_by_day(session: Session) -> dict[date, list[Case]]:
    found: dict[date, list[Case]] = {}
    for case in sorted(cases.cases_in_scope(session, scope=bind("city", CITY)), key=lambda c: c.id):
        if case.person_id is not None:
            found.setdefault(case.reported_on, []).append(case)
    return found


def _test_sites(
    session: Session, lake: Path, policy: Policy, day: date, scope: object, result: DemoQuarantine
) -> None:
    """Each site's round of the day: everyone due swabbed 16:00–18:00, negative at 20:00."""
    city = bind("city", CITY)
    for site in sorted(sites.list_sites(session, scope=city), key=lambda s: s.code):
        try:
            round_ = site_swabs.open_site_round(
                session,
                site,
                day,
                lake=lake,
                policy=policy,
                now=_at(day, 16),
                actor="demo",
                scope=city,
            )
        except site_swabs.NothingDue:
            continue
        due = [
            t.person_no
            for t in site_swabs.worklist(session, site, day, scope=city, today=day)
            if t.round_code == round_.code and t.state == "due"
        ]
        if not due:
            continue
        swabbed = [_at(day, 16, 0) + timedelta(seconds=40 * i) for i in range(len(due))]
        tubes = [f"{round_.code}-{i:04d}" for i in range(len(due))]
        samples.add_samples(
            lake,
            round_.code,
            pa.table(
                {
                    "person_id": due,
                    "tube_barcode": tubes,
                    "tube_size": [1] * len(due),
                    "point_code": [site.code] * len(due),
                    "sampled_at": swabbed,
                }
            ),
            allowed_sizes=(1,),
        )
        results.import_results(
            lake,
            round_.code,
            [LabResult(t, TubeResult.NEGATIVE, LAB, _at(day, 20)) for t in tubes],
            source="demo",
        )
        rounds.apply_round(
            session, round_, lake=lake, policy=policy, now=_at(day, 20, 30), scope=city
        )
        result.site_rounds += 1
        result.tubes += len(tubes)


def _monitor(
    session: Session,
    policy: Policy,
    day: date,
    end: datetime,
    rng: random.Random,
    result: DemoQuarantine,
) -> None:
    """Morning and evening reports of everyone at home that day, some feverish, some not
    sent; those at home by the community worker's phone call now and then."""
    monitored = quarantine.monitored_orders(session, day=day, scope=bind("city", CITY))
    at_home = quarantine.orders_by_id(session, [o.id for o in monitored])
    for order in at_home:
        for window in policy.quarantine.report_windows.values():
            at = datetime.combine(day, window.opens, LOCAL_TZ) + timedelta(
                minutes=rng.randint(5, 150)
            )
            if at > end or rng.random() < MISSED:
                continue
            fever = rng.random() < FEVER
            recorded = monitoring.record_report(
                session,
                order=order,
                at=at,
                temperature=round(rng.uniform(37.4, 38.3) if fever else rng.uniform(36.1, 37.0), 1),
                symptoms=("dry_cough",) if fever and rng.random() < 0.5 else (),
                channel="self" if rng.random() < 0.8 else "phone",
                entered_by="demo",
                note=None,
                policy=policy,
            )
            result.reports += 1
            result.referrals += recorded.task is not None


def _close_tasks(session: Session, day: date, at: datetime, rng: random.Random) -> None:
    """The next morning the community closes most of the day's tasks."""
    rows, _ = monitoring_tasks.tasks(
        session, scope=bind("city", CITY), day=day, status="open", limit=1_000_000
    )
    for row in sorted(rows, key=lambda r: r.id):
        task = monitoring_tasks.get_task(session, task_id=row.id, scope=bind("city", CITY))
        if rng.random() < 0.9:
            outcome = (
                "已转诊发热门诊，核酸阴性"
                if task.kind == "referral"
                else "已电话联系，补报体温正常"
            )
            monitoring_tasks.close_task(session, task=task, by="五包一", outcome=outcome, now=at)
