"""A mass-testing round in the demo: 周村区 sampled on 16 March 2022, in pools of 10.

The round runs as a district would have run it: everyone due is snapshotted from the
registry; close contacts already under control are exempt (in quarantine); most residents
are swabbed between 06:00 and 22:00 with a morning peak, a few are missed; the lab reports
the pools in the afternoon; the members of positive pools are re-sampled one by one and
their single tubes reported in the evening. The positives are the replay's cases of 16 and
17 March that screening found (not those found in quarantine): they are cases already, so
the seed figures stay what the seeds say, and applying the round finds them again instead
of creating cases. (The city is small beside the outbreak: at scale 1.0 周村区 has ~1,700
residents for dozens of cases, so its quarantined contacts are a large share.)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases import service as cases_service
from fangkong.clock import LOCAL_TZ
from fangkong.flows import rounds
from fangkong.lake.engine import connect
from fangkong.people import service as people_service
from fangkong.policy import Policy
from fangkong.testing import results, samples, service
from fangkong.testing.fhir import LabResult, TubeResult
from fangkong.tracing import service as tracing

CODE = "ZC-2022-03-16"
NAME = "周村区全员核酸检测（3月16日）"
DISTRICT = "370306"
START = datetime(2022, 3, 16, 6, 0, tzinfo=LOCAL_TZ)
LAB = "淄博市疾控中心实验室"
SCREENING = ("community_screening", "sealed_zone_screening", "controlled_zone_screening")
POOL = 10
# Close contacts of the cases of these last days are still in centralized quarantine.
QUARANTINE_DAYS = 3
MISSED = 0.02  # residents not sampled in the day: the community's list to chase
# Share of the day's swabs per hour from 06:00: queues at dawn and after work.
HOURLY = (9, 14, 13, 10, 7, 5, 5, 4, 4, 4, 5, 7, 7, 4, 2, 1)


@dataclass(frozen=True)
class DemoRound:
    code: str
    due: int
    sampled: int
    tubes: int
    recalled: int
    positives: list[str]  # case numbers found again by the round


def run(session: Session, *, lake: Path, policy: Policy, now: datetime, seed: int) -> DemoRound:
    rng = random.Random(seed)
    scope = bind("city", "3703")
    spec = service.RoundSpec(
        code=CODE,
        name=NAME,
        city_code="3703",
        areas=[DISTRICT],
        starts_at=START,
        ends_at=START + timedelta(hours=24),
        pool_size=POOL,
    )
    round_ = service.create_round(
        session, spec, lake=lake, policy=policy, now=now, actor="demo", scope=scope
    )
    due = pq.read_table(service.due_path(lake, CODE)).to_pylist()
    infected = _infected(session)
    quarantined = _under_control(session) - infected
    for person_no in sorted(quarantined & {r["person_id"] for r in due}):
        service.exempt(
            session,
            round_,
            person_no=person_no,
            reason="quarantine",
            note="密切接触者，集中隔离中",
            actor="demo",
            now=now,
            scope=scope,
        )
    swabbed = [r for r in due if r["person_id"] not in quarantined and rng.random() >= MISSED]
    rows, tube_of = _first_stage(swabbed, rng)
    samples.add_samples(lake, CODE, pa.Table.from_pylist(rows))
    positive_tubes = {tube_of[p] for p in infected if p in tube_of}
    results.import_results(
        lake,
        CODE,
        [
            LabResult(
                tube,
                TubeResult.POSITIVE if tube in positive_tubes else TubeResult.NEGATIVE,
                LAB,
                last + timedelta(hours=5),
            )
            for tube, last in _tube_times(rows).items()
        ],
        source="demo",
    )
    con = connect("duckdb")
    first = rounds.apply_round(
        session, round_, lake=lake, policy=policy, now=now, scope=scope, con=con
    )
    recalled = sorted(p for p, t in tube_of.items() if t in positive_tubes)
    retest = [
        {
            "person_id": p,
            "tube_barcode": f"ZC16S{i:05d}",
            "tube_size": 1,
            "point_code": "ZC-FEVER",  # the district's single-tube team
            "sampled_at": START + timedelta(hours=13, minutes=i),
        }
        for i, p in enumerate(recalled)
    ]
    if retest:
        samples.add_samples(lake, CODE, pa.Table.from_pylist(retest))
        results.import_results(
            lake,
            CODE,
            [
                LabResult(
                    str(r["tube_barcode"]),
                    TubeResult.POSITIVE if r["person_id"] in infected else TubeResult.NEGATIVE,
                    LAB,
                    START + timedelta(hours=17),
                )
                for r in retest
            ],
            source="demo",
        )
        first = rounds.apply_round(
            session, round_, lake=lake, policy=policy, now=now, scope=scope, con=con
        )
    return DemoRound(
        code=CODE,
        due=round_.due_count,
        sampled=len(swabbed),
        tubes=len(set(tube_of.values())) + len(retest),
        recalled=len(recalled),
        positives=first.already_cases + first.cases,
    )


def _under_control(session: Session) -> set[str]:
    """Close contacts of the cases reported just before the round: in centralized
    quarantine then (RULES §3), so exempt from the round rather than missing."""
    since = START.date() - timedelta(days=QUARANTINE_DAYS)
    before = [
        c.id
        for c in cases_service.cases_in_scope(session, scope=bind("city", "3703"), since=since)
        if c.reported_on < START.date()
    ]
    return tracing.contact_person_nos(session, case_ids=before, degrees=("close",))


def _infected(session: Session) -> set[str]:
    """Residents of 周村区 reported as cases on the round's day or the next, found by
    screening: the round's swabs are where they were found."""
    days = (START.date(), START.date() + timedelta(days=1))
    found = [
        c
        for c in cases_service.cases_in_scope(session, scope=bind("district", DISTRICT))
        if c.reported_on in days and c.found_via in SCREENING and c.person_id is not None
    ]
    persons = people_service.persons_by_id(session, [c.person_id for c in found if c.person_id])
    return {p.person_no for p in persons.values()}


def _first_stage(
    swabbed: list[dict[str, object]], rng: random.Random
) -> tuple[list[dict[str, object]], dict[str, str]]:
    """Samples in pools of ``POOL``: each person comes at a time drawn from ``HOURLY`` to
    their community's point, and a tube fills with the next ``POOL`` people in the queue."""
    hours = list(range(len(HOURLY)))
    queue = sorted(
        (
            int(str(r["community_id"] or 0)),
            START
            + timedelta(hours=rng.choices(hours, weights=HOURLY)[0], seconds=rng.randrange(3600)),
            str(r["person_id"]),
        )
        for r in swabbed
    )
    rows: list[dict[str, object]] = []
    tube_of: dict[str, str] = {}
    tube, filled, community = 0, POOL, -1
    for community_id, at, person in queue:
        if filled == POOL or community_id != community:
            tube, filled, community = tube + 1, 0, community_id
        filled += 1
        barcode = f"ZC16P{tube:06d}"
        tube_of[person] = barcode
        rows.append(
            {
                "person_id": person,
                "tube_barcode": barcode,
                "tube_size": POOL,
                "point_code": f"c{community_id}-P01",
                "sampled_at": at,
            }
        )
    return rows, tube_of


def _tube_times(rows: list[dict[str, object]]) -> dict[str, datetime]:
    last: dict[str, datetime] = {}
    for r in rows:
        tube, at = str(r["tube_barcode"]), r["sampled_at"]
        assert isinstance(at, datetime)
        last[tube] = max(at, last.get(tube, at))
    return last
