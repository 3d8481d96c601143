"""The testing API through the real app: a round from creation to cases, lists and
exports, the lab's FHIR feed, and who may do what where."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fangkong.auth.jurisdiction import bind
from fangkong.auth.models import AuditEvent
from fangkong.people import service as people_service
from fangkong.people.schemas import PersonCreate
from fangkong.storage.db import session_factory

API = "/api/v1/testing"
Clients = Callable[[str], TestClient]
CITY = bind("city", "3703")
DATA = Path(__file__).parent / "data"


@pytest.fixture
def town(app: object, engine: Engine) -> None:
    """Twelve residents of 新建路社区 (丝绸路街道, 周村区), with phones."""
    from tests.conftest import NOW

    with session_factory(engine)() as s, s.begin():
        for i in range(12):
            data = PersonCreate.model_validate(
                {
                    "person_no": f"P{i:02d}",
                    "name": "孙小七",
                    "phone": "13853312345",
                    "district": "周村区",
                    "street": "丝绸路街道",
                    "community": "新建路社区",
                }
            )
            people_service.create_person(s, data=data, now=NOW, scope=CITY)


ROUND = {
    "code": "ZC-R1",
    "name": "周村区全员核酸检测",
    "areas": ["周村区"],
    "starts_at": "2022-03-21T06:00:00+08:00",
}


def sample(person: str, tube: str, size: int, minute: int) -> dict[str, object]:
    return {
        "person_id": person,
        "tube_barcode": tube,
        "tube_size": size,
        "point_code": "P1",
        "sampled_at": f"2022-03-21T07:{minute:02d}:00+08:00",
    }


def test_a_round_through_the_api(client_as: Clients, town: None, engine: Engine) -> None:
    cdc, worker = client_as("cdc"), client_as("worker")
    created = cdc.post(f"{API}/rounds", json=ROUND)
    assert created.status_code == 201, created.text
    assert created.json()["due"] == 12
    assert cdc.post(f"{API}/rounds", json=ROUND).json()["code"] == "conflict"
    points = cdc.get(f"{API}/rounds/ZC-R1/points").json()
    assert [(p["population"], p["staff"], p["tables"]) for p in points] == [(12, 1, 1)]
    plan = cdc.get(f"{API}/rounds/ZC-R1/plan.xlsx")
    assert load_workbook(io.BytesIO(plan.content)).sheetnames == ["采样点", "时段", "汇总"]

    exempt = worker.post(
        f"{API}/rounds/ZC-R1/exemptions", json={"person_no": "P11", "reason": "hospital"}
    )
    assert exempt.status_code == 200, exempt.text
    pool_a = [sample(f"P{i:02d}", "A", 5, i) for i in range(5)]
    pool_b = [sample(f"P{i:02d}", "B", 5, i) for i in range(5, 10)]
    added = worker.post(f"{API}/rounds/ZC-R1/samples", json={"samples": pool_a + pool_b})
    assert added.status_code == 200, added.text
    assert (added.json()["added"], added.json()["tubes"]) == (10, 2)
    again = worker.post(f"{API}/rounds/ZC-R1/samples", json={"samples": pool_a})
    assert (again.json()["added"], again.json()["duplicates"]) == (0, 5)
    full = worker.post(f"{API}/rounds/ZC-R1/samples", json={"samples": [sample("P10", "A", 5, 30)]})
    assert full.status_code == 422
    assert full.json()["code"] == "import_rejected"

    lab = client_as("lab")
    bundle = json.loads((DATA / "fhir_bundle_valid.json").read_text(encoding="utf-8"))
    assert lab.post(
        f"{API}/rounds/ZC-R1/results",
        content=json.dumps(bundle),
        headers={"Content-Type": "application/fhir+json"},
    ).json()["code"] in ("import_rejected", "invalid_input")  # tubes of another round
    results = {
        "results": [
            {
                "tube_barcode": t,
                "result": r,
                "lab": "淄博市疾控中心",
                "resulted_at": "2022-03-21T12:00:00+08:00",
            }
            for t, r in (("A", "negative"), ("B", "positive"))
        ]
    }
    posted = lab.post(f"{API}/rounds/ZC-R1/results", json=results)
    assert posted.status_code == 200, posted.text
    assert posted.json()["positive"] == 1
    assert lab.post(f"{API}/rounds/ZC-R1/results", json=results).json()["duplicates"] == 2

    applied = cdc.post(f"{API}/rounds/ZC-R1/apply")
    assert applied.status_code == 200, applied.text
    assert applied.json()["recalls_added"] == 5
    coverage = cdc.get(f"{API}/rounds/ZC-R1/coverage", params={"level": "district"}).json()
    assert [
        (c["area_name"], c["due"], c["sampled"], c["exempt"], c["missing"]) for c in coverage
    ] == [("周村区", 12, 10, 1, 1)]
    assert cdc.get(f"{API}/rounds/ZC-R1/progress").json()[0]["samples"] == 10

    missing = worker.get(f"{API}/rounds/ZC-R1/lists/missing").json()
    assert [(m["person_no"], m["name"], m["phone"]) for m in missing] == [
        ("P10", "孙*七", "138****2345")
    ]
    unmasked = worker.get(f"{API}/rounds/ZC-R1/lists/missing", params={"full": True}).json()
    assert unmasked[0]["phone"] == "13853312345"
    recall = worker.get(f"{API}/rounds/ZC-R1/lists/recall").json()
    assert [r["recall_status"] for r in recall] == ["pending"] * 5
    patched = worker.patch(f"{API}/rounds/ZC-R1/recalls/P05", json={"status": "resampled"})
    assert patched.json()["recall_status"] == "resampled"

    assert worker.get(f"{API}/rounds/ZC-R1/lists/missing.xlsx").status_code == 422  # reason
    export = worker.get(f"{API}/rounds/ZC-R1/lists/missing.xlsx", params={"reason": "入户排查"})
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content))["名单"]
    assert [c.value for c in sheet[3]][:3] == ["P10", "孙小七", "13853312345"]
    with session_factory(engine)() as s:
        actions = {
            (e.action, e.entity_type)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.actor == "token:worker-token"))
        }
    assert {("export", "testing_list"), ("read_pii", "testing_list")} <= actions

    assert cdc.post(f"{API}/rounds/ZC-R1/close").json()["status"] == "closed"
    closed = worker.post(f"{API}/rounds/ZC-R1/samples", json={"samples": pool_a})
    assert closed.json()["code"] == "conflict"


def test_who_may_do_what_where(client_as: Clients, anon: TestClient, town: None) -> None:
    assert anon.get(f"{API}/rounds").status_code == 401
    zhangdian = client_as("zhangdian")
    assert zhangdian.post(f"{API}/rounds", json=ROUND).json()["code"] == "outside_jurisdiction"
    assert client_as("zhoucun").post(f"{API}/rounds", json=ROUND).status_code == 201
    assert zhangdian.get(f"{API}/rounds").json() == []
    assert zhangdian.get(f"{API}/rounds/ZC-R1").status_code == 404
    assert client_as("worker").get(f"{API}/rounds/ZC-R1").status_code == 200
    assert client_as("worker").post(f"{API}/rounds/ZC-R1/apply").status_code == 403
    assert client_as("hotline").get(f"{API}/rounds").status_code == 403
    lab = client_as("lab")
    assert lab.get(f"{API}/rounds").status_code == 403
    assert lab.post(f"{API}/rounds/ZC-R1/samples", json={"samples": []}).status_code == 403
    assert lab.post(f"{API}/rounds/NOPE/results", json={"results": []}).status_code == 404
    assert lab.post(f"{API}/rounds/ZC-R1/results", json={"results": []}).status_code == 422
    assert client_as("venue").get(f"{API}/routine/compliance").status_code == 403
    routine = client_as("cdc").get(f"{API}/routine/compliance")
    assert routine.status_code == 200


def _resident_of_another_street(engine: Engine, no: str) -> None:
    from tests.conftest import NOW

    with session_factory(engine)() as s, s.begin():
        data = PersonCreate.model_validate(
            {"person_no": no, "name": "周小八", "district": "周村区", "street": "大街街道"}
        )
        people_service.create_person(s, data=data, now=NOW, scope=CITY)


def test_a_street_worker_samples_exempts_and_recalls_only_persons_of_the_street(
    client_as: Clients, town: None, engine: Engine
) -> None:
    """The worker of 丝绸路街道 in a round of all 周村区: the same answer for sampling,
    exemptions and recalls of a person of 大街街道 — refused, coverage unchanged — while the
    city's CDC and the district officer reach both streets."""
    _resident_of_another_street(engine, "OTHER")
    cdc, zhoucun, worker = client_as("cdc"), client_as("zhoucun"), client_as("worker")
    assert cdc.post(f"{API}/rounds", json=ROUND).status_code == 201
    # Sampling: the whole batch is refused, its outsider named by row; nothing is written.
    batch = [sample("P00", "T1", 1, 0), sample("OTHER", "T2", 1, 1)]
    refused = worker.post(f"{API}/rounds/ZC-R1/samples", json={"samples": batch})
    assert refused.status_code == 422
    assert refused.json()["code"] == "import_rejected"
    [error] = refused.json()["details"]["errors"]
    assert (error["row"], error["column"]) == (1, "person_id")
    assert "jurisdiction" in error["reason"]
    unknown = worker.post(
        f"{API}/rounds/ZC-R1/samples", json={"samples": [sample("NOPE", "T3", 1, 2)]}
    )
    assert unknown.json()["details"]["errors"][0]["reason"] == error["reason"]  # tells nothing
    upload = worker.post(
        f"{API}/rounds/ZC-R1/samples/import",
        files={
            "file": (
                "s.csv",
                "person_id,tube_barcode,tube_size,point_code,sampled_at\n"
                "OTHER,T4,1,P1,2022-03-21T07:10:00+08:00\n",
            )
        },
    )
    assert upload.status_code == 422
    assert upload.json()["details"]["errors"][0]["row"] == 2  # header is row 1
    own = worker.post(f"{API}/rounds/ZC-R1/samples", json={"samples": batch[:1]})
    assert own.status_code == 200, own.text
    assert own.json()["added"] == 1  # the refused batch wrote nothing
    # Exemptions: refused as a person not found.
    out = worker.post(
        f"{API}/rounds/ZC-R1/exemptions", json={"person_no": "OTHER", "reason": "hospital"}
    )
    assert out.status_code == 404
    inside = worker.post(
        f"{API}/rounds/ZC-R1/exemptions", json={"person_no": "P11", "reason": "hospital"}
    )
    assert inside.status_code == 200
    # The city's CDC samples, the district officer exempts, in both streets.
    theirs = [sample("OTHER", "T5", 1, 5), sample("P01", "T6", 1, 6)]
    assert cdc.post(f"{API}/rounds/ZC-R1/samples", json={"samples": theirs}).status_code == 200
    assert (
        zhoucun.post(
            f"{API}/rounds/ZC-R1/exemptions", json={"person_no": "OTHER", "reason": "travelling"}
        ).status_code
        == 200
    )
    # Recalls: both positive single tubes recalled; the worker updates only its own.
    lab = client_as("lab")
    results = {
        "results": [
            {
                "tube_barcode": t,
                "result": "positive",
                "lab": "淄博市疾控中心",
                "resulted_at": "2022-03-21T12:00:00+08:00",
            }
            for t in ("T1", "T5")
        ]
    }
    assert lab.post(f"{API}/rounds/ZC-R1/results", json=results).status_code == 200
    assert cdc.post(f"{API}/rounds/ZC-R1/apply").status_code == 200
    recalls = {r["person_no"] for r in worker.get(f"{API}/rounds/ZC-R1/lists/recall").json()}
    assert "OTHER" not in recalls
    recall = {"status": "resampled"}
    assert worker.patch(f"{API}/rounds/ZC-R1/recalls/OTHER", json=recall).status_code == 404
    coverage = cdc.get(f"{API}/rounds/ZC-R1/coverage", params={"level": "district"}).json()
    assert [(c["sampled"], c["exempt"]) for c in coverage] == [(3, 1)]  # OTHER: sampled
