"""The tracing service on a real store and a DuckDB lake: storing, re-running, chains,
clusters."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases import service as cases_service
from fangkong.errors import NotFound
from fangkong.lake.engine import connect
from fangkong.lake.layout import SCAN_STREAM
from fangkong.policy import load_policy
from fangkong.tracing import service
from fangkong.tracing.rules import ContactStatus
from fangkong.tracing.schemas import TraceReport

from .helpers import CITY, MARCH_8, NOW, case, local, person, stay, write_scans, zhoucun

POLICY = load_policy("national-9")
CON = connect("duckdb")


def trace(session: Session, lake: Path, *case_nos: str, edition: str = "national-9") -> TraceReport:
    return service.trace_cases(
        session,
        case_nos=list(case_nos),
        con=CON,
        lake=lake,
        policy=load_policy(edition),
        now=NOW,
        scope=CITY,
    )


def degrees(session: Session, case_no: str) -> dict[str, str]:
    return {
        p.person_no: c.degree for c, p in service.contacts_of(session, case_no=case_no, scope=CITY)
    }


@pytest.fixture
def lake(session: Session, tmp_path: Path) -> Path:
    zhoucun(session, tmp_path)
    return tmp_path


def test_trace_one_case(session: Session, lake: Path) -> None:
    report = trace(session, lake, "ZB-001", "ZB-003")
    one, three = report.cases
    assert (one.close, one.secondary, one.general) == (4, 1, 1)
    assert one.window_rule == "national-9:tracing.lookback_days"
    assert one.window_start == local(MARCH_8 - timedelta(days=4), 0)
    assert (three.traceable, three.note) == (False, service.NOT_TRACEABLE)
    assert report.totals == {"close": 4, "secondary": 1, "general": 1}
    assert degrees(session, "ZB-001") == {
        "H1": "close",
        "U1": "close",
        "A": "close",
        "X": "close",
        "S": "secondary",
        "B": "general",
    }
    found = {p.person_no: c for c, p in service.contacts_of(session, case_no="ZB-001", scope=CITY)}
    assert json.loads(found["S"].reasons)[0]["via"] == "A"
    assert json.loads(found["A"].reasons)[0]["minutes"] == 30
    assert found["H1"].rule == "national-9:tracing.household_is_close"
    assert all(c.status == "new" and c.first_found_at == NOW for c in found.values())


def test_twenty_measures_find_no_secondary(session: Session, lake: Path) -> None:
    (one,) = trace(session, lake, "ZB-001", edition="measures-20").cases
    assert (one.close, one.secondary, one.general) == (4, 0, 1)


def test_rerun_is_incremental(session: Session, lake: Path) -> None:
    trace(session, lake, "ZB-001")
    service.set_status(
        session,
        case_no="ZB-001",
        person_no="A",
        status=ContactStatus.notified,
        now=NOW,
        scope=CITY,
    )
    again = trace(session, lake, "ZB-001").cases[0]
    assert (again.added, again.changed, again.removed) == (0, 0, 0)
    # A's and B's scans withdrawn; D scanned in late; B's longer stay shows up
    for part in ("a", "b"):
        (SCAN_STREAM.day_dir(lake, MARCH_8) / f"part-{part}.parquet").unlink()
    write_scans(lake, [stay("D", "V1", local(MARCH_8, 10, 10), 30)], part="c")
    later = NOW + timedelta(hours=3)
    report = service.trace_cases(
        session, case_nos=["ZB-001"], con=CON, lake=lake, policy=POLICY, now=later, scope=CITY
    )
    after = degrees(session, "ZB-001")
    assert after["A"] == "close"  # acted on: kept
    assert "S" not in after  # A's household no longer reached through a fresh close contact
    assert "B" not in after  # untouched and no longer a contact: removed
    assert after["D"] == "close"
    assert (report.cases[0].added, report.cases[0].removed) == (1, 2)
    write_scans(lake, [stay("B", "V1", local(MARCH_8, 10, 20), 30)], part="d")
    trace(session, lake, "ZB-001")
    assert degrees(session, "ZB-001")["B"] == "close"


def test_acted_on_contact_is_upgraded_never_downgraded(session: Session, lake: Path) -> None:
    trace(session, lake, "ZB-001")
    service.set_status(
        session,
        case_no="ZB-001",
        person_no="B",
        status=ContactStatus.controlled,
        now=NOW,
        scope=CITY,
    )
    write_scans(lake, [stay("B", "V1", local(MARCH_8, 10, 5), 20)], part="e")
    trace(session, lake, "ZB-001")
    found = {p.person_no: c for c, p in service.contacts_of(session, case_no="ZB-001", scope=CITY)}
    assert found["B"].degree == "close"
    assert len(json.loads(found["B"].reasons)) == 2
    (SCAN_STREAM.day_dir(lake, MARCH_8) / "part-e.parquet").unlink()
    trace(session, lake, "ZB-001")
    assert degrees(session, "ZB-001")["B"] == "close"


def test_chain_link_and_cluster(session: Session, lake: Path) -> None:
    report = trace(session, lake, "ZB-001")
    assert [(c.infector_case_no, c.case_no, c.degree, c.linked) for c in report.chain] == [
        ("ZB-001", "ZB-002", "close", True)
    ]
    second = cases_service.get_case(session, case_no="ZB-002", scope=CITY)
    assert second.infector is not None
    assert second.infector.case_no == "ZB-001"
    (cluster,) = service.clusters(session, scope=CITY)
    assert cluster.name == "周村区 3月8日 聚集性疫情 (ZB-001)"
    assert cluster.case_nos == ["ZB-001", "ZB-002"]
    assert {e.kind for e in cluster.edges} == {"infector"}
    assert service.clusters(session, scope=CITY, since=MARCH_8 + timedelta(days=2)) == []


def test_shared_close_contact_makes_a_cluster(session: Session, lake: Path) -> None:
    person(session, "Y", household="HH2")  # lives with A, a close contact of ZB-001
    case(session, "ZB-004", "Y", reported_on=MARCH_8 + timedelta(days=5))
    trace(session, lake, "ZB-004", edition="measures-20")
    assert service.clusters(session, scope=CITY) == []
    report = trace(session, lake, "ZB-001", edition="measures-20")
    assert [c.case_no for c in report.chain] == ["ZB-002"]  # Y is no contact of ZB-001
    (cluster,) = service.clusters(session, scope=CITY)
    assert cluster.case_nos == ["ZB-001", "ZB-002", "ZB-004"]
    assert ("ZB-001", "ZB-004", "shared_contact") in {
        (e.source, e.target, e.kind) for e in cluster.edges
    }


def test_trace_day_and_scope(session: Session, lake: Path) -> None:
    report = service.trace_day(
        session,
        day=MARCH_8 + timedelta(days=1),
        con=CON,
        lake=lake,
        policy=POLICY,
        now=NOW,
        scope=CITY,
    )
    assert [c.case_no for c in report.cases] == ["ZB-001", "ZB-003"]
    with pytest.raises(NotFound):
        service.contacts_of(session, case_no="ZB-001", scope=bind("district", "370303"))


def test_timeline(session: Session, lake: Path) -> None:
    visits = service.visits_of(
        session, case_no="ZB-001", con=CON, lake=lake, policy=POLICY, scope=CITY
    )
    assert [(v.venue_code, v.category) for v in visits] == [("V1", "supermarket"), ("PK", "park")]
    assert visits[0].entered_at == local(MARCH_8, 10)
    empty = service.visits_of(
        session, case_no="ZB-003", con=CON, lake=lake, policy=POLICY, scope=CITY
    )
    assert empty == []


def test_empty_lake(session: Session, tmp_path: Path, lake: Path) -> None:
    report = trace(session, tmp_path / "nothing", "ZB-001")
    assert (report.cases[0].close, report.cases[0].general) == (2, 0)  # household and unit
