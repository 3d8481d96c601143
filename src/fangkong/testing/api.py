"""HTTP API of mass testing: rounds, sampling points and their plan, exemptions."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC
from pathlib import Path as FilePath
from pathlib import PurePath
from typing import TYPE_CHECKING, Annotated, TypeVar

import pyarrow as pa
from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from pydantic import ValidationError

from fangkong.apiutil import RowIdQuery, audited
from fangkong.auth import audit
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import InvalidInput, NotFound
from fangkong.flows import rounds
from fangkong.lake.layout import lake_root
from fangkong.people.joins import Person
from fangkong.people.masking import mask_name, mask_phone
from fangkong.testing import apply as applying
from fangkong.testing import lists, results, routine, samples, service
from fangkong.testing.fhir import LabResult, TubeResult, parse_bundle
from fangkong.testing.models import TestingRound
from fangkong.testing.plan_xlsx import plan_workbook
from fangkong.testing.schemas import (
    ApplyRead,
    CoverageRead,
    ExemptionCreate,
    ExemptionRead,
    ListedPerson,
    PointRead,
    ProgressRead,
    RecallUpdate,
    ResultBatch,
    ResultImportRead,
    RoundCreate,
    RoundRead,
    RoutineRead,
    SampleBatch,
    SampleImportRead,
    TallyRead,
    TubeClose,
    TubeClosed,
    TurnaroundRead,
)
from fangkong.tracing import service as tracing_service

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")

router = APIRouter(prefix="/testing", tags=["testing"])

Reader = Annotated[Principal, Depends(Require("testing.read"))]
Planner = Annotated[Principal, Depends(Require("testing.plan"))]
Exempter = Annotated[Principal, Depends(Require("testing.exempt"))]
CODE = Path(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post(
    "/rounds",
    response_model=RoundRead,
    status_code=201,
    summary="Create a round over areas: pool size per area, population due, sampling points",
)
def create_round(
    data: RoundCreate,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
    principal: Planner,
) -> RoundRead:
    round_ = service.create_round(
        session,
        service.RoundSpec(
            code=data.code,
            name=data.name,
            kind=data.kind,
            city_code=settings.city,
            areas=data.areas,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            pool_mode=data.pool_mode,
            pool_size=data.pool_size,
            three_stage=data.three_stage,
            positivity=data.positivity,
        ),
        lake=lake_root(settings.home),
        policy=policy,
        now=clock.now(),
        actor=principal.name,
        scope=principal.jurisdiction,
    )
    return RoundRead.model_validate(service.round_summary(round_))


@router.get("/rounds", response_model=list[RoundRead], summary="Rounds in the caller's area")
def list_rounds(session: SessionDep, principal: Reader) -> list[RoundRead]:
    return [
        RoundRead.model_validate(service.round_summary(r))
        for r in service.list_rounds(session, scope=principal.jurisdiction)
    ]


@router.get("/rounds/{code}", response_model=RoundRead, summary="A round and its last outcome")
def get_round(code: Annotated[str, CODE], session: SessionDep, principal: Reader) -> RoundRead:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    return RoundRead.model_validate(service.round_summary(round_))


@router.get(
    "/rounds/{code}/points",
    response_model=list[PointRead],
    summary="The round's sampling points in the caller's area",
)
def points(code: Annotated[str, CODE], session: SessionDep, principal: Reader) -> list[PointRead]:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    return [
        PointRead.model_validate(p, from_attributes=True)
        for p in service.points_of(session, round_, principal.jurisdiction)
    ]


@router.get(
    "/rounds/{code}/plan.xlsx",
    summary="The sampling-point plan as Excel (points, time slots, totals by district)",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def plan_xlsx(
    code: Annotated[str, CODE], session: SessionDep, policy: PolicyDep, principal: Reader
) -> Response:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    plan = service.plan_of(session, round_, policy=policy, scope=principal.jurisdiction)
    content = plan_workbook(plan, title=round_.name)
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="plan-{round_.code}.xlsx"'},
    )


@router.post(
    "/rounds/{code}/close",
    response_model=RoundRead,
    summary="Close a round's sampling: later samples are refused (results still come in)",
)
def close_round(
    code: Annotated[str, CODE], session: SessionDep, clock: ClockDep, principal: Planner
) -> RoundRead:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    service.close_round(round_, now=clock.now())
    return RoundRead.model_validate(service.round_summary(round_))


@router.post(
    "/rounds/{code}/exemptions",
    response_model=ExemptionRead,
    summary="Record that a due person need not be sampled (quarantine, hospital, travelling)",
)
def exempt(
    code: Annotated[str, CODE],
    data: ExemptionCreate,
    session: SessionDep,
    clock: ClockDep,
    principal: Exempter,
) -> ExemptionRead:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    row = service.exempt(
        session,
        round_,
        person_no=data.person_no,
        reason=data.reason,
        note=data.note,
        actor=principal.name,
        now=clock.now(),
        scope=principal.jurisdiction,
    )
    person = session.get(Person, row.person_id)
    assert person is not None
    return ExemptionRead(
        person_no=person.person_no,
        reason=row.reason,
        note=row.note,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


# ---------------------------------------------------------------- samples and results

Sampler = Annotated[Principal, Depends(Require("testing.sample"))]
Lab = Annotated[Principal, Depends(Require("testing.results"))]
ListExporter = Annotated[Principal, Depends(Require("testing.export"))]
FHIR_JSON = "application/fhir+json"


def _lake(settings: SettingsDep) -> FilePath:
    return lake_root(settings.home)


LakeDep = Annotated[FilePath, Depends(_lake)]


def _upload(file: UploadFile, lake: FilePath) -> tuple[FilePath, str]:
    """The upload in the lake's staging folder, under its own name (CSV or Parquet)."""
    name = PurePath(file.filename or "upload.csv").name
    suffix = PurePath(name).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InvalidInput(f"{name}: upload a .csv or .parquet file")
    folder = lake / "_staging" / f"upload-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    target = folder / name
    with target.open("wb") as out:
        shutil.copyfileobj(file.file, out)
    return target, name


def _sample_read(report: samples.SampleImportReport) -> SampleImportRead:
    return SampleImportRead(
        round_code=report.round_code,
        rows=report.rows,
        added=report.added,
        duplicates=report.duplicates,
        tubes=report.tubes,
        seconds=round(report.seconds, 3),
    )


def _result_read(report: results.ResultImportReport) -> ResultImportRead:
    return ResultImportRead(
        round_code=report.round_code,
        rows=report.rows,
        added=report.added,
        duplicates=report.duplicates,
        positive=report.positive,
        invalid=report.invalid,
        seconds=round(report.seconds, 3),
    )


@router.post(
    "/rounds/{code}/samples",
    response_model=SampleImportRead,
    summary="Samples from a sampling device (checked as an import: all or nothing, idempotent)",
)
def add_samples(
    code: Annotated[str, CODE],
    data: SampleBatch,
    session: SessionDep,
    policy: PolicyDep,
    lake: LakeDep,
    principal: Sampler,
) -> SampleImportRead:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    service.require_open(round_)
    rows = pa.Table.from_pylist([s.model_dump() for s in data.samples])
    report = samples.add_samples(
        lake,
        round_.code,
        rows,
        allowed_sizes=service.tube_sizes(round_, policy),
        outside=service.persons_outside(session, principal.jurisdiction),
    )
    return _sample_read(report)


@router.post(
    "/rounds/{code}/samples/import",
    response_model=SampleImportRead,
    summary="Import samples from CSV or Parquet (person_id, tube_barcode, tube_size, "
    "point_code, sampled_at); all or nothing, idempotent, audited",
)
def import_samples(
    code: Annotated[str, CODE],
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    lake: LakeDep,
    principal: Sampler,
    file: UploadFile = File(...),
) -> SampleImportRead:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    service.require_open(round_)
    path, name = _upload(file, lake)
    try:
        report = audited(
            lambda: samples.import_samples(
                lake,
                round_.code,
                path,
                allowed_sizes=service.tube_sizes(round_, policy),
                outside=service.persons_outside(session, principal.jurisdiction),
            ),
            kind="testing_sample",
            filename=name,
            session=session,
            now=clock.now(),
            principal=principal,
            counts=lambda r: {"added": r.added, "duplicates": r.duplicates},
        )
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    return _sample_read(report)


@router.post(
    "/rounds/{code}/tubes/{barcode}/close",
    response_model=TubeClosed,
    summary="Close (seal) a tube at its sampling point: later samples into it are refused",
)
def close_tube(
    code: Annotated[str, CODE],
    barcode: Annotated[str, Path(max_length=64)],
    data: TubeClose,
    session: SessionDep,
    lake: LakeDep,
    principal: Sampler,
) -> TubeClosed:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    closed = samples.close_tube(lake, round_.code, barcode, data.point_code, data.closed_at)
    return TubeClosed(tube_barcode=barcode, closed=closed)


@router.post(
    "/rounds/{code}/results",
    response_model=ResultImportRead,
    summary="Lab results per tube: JSON, or an HL7 FHIR Bundle of Observations "
    f"(Content-Type {FHIR_JSON}); idempotent, a conflicting result is refused",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ResultBatch"}},
                FHIR_JSON: {"schema": {"type": "object"}},
            },
            "required": True,
        }
    },
)
async def add_results(
    code: Annotated[str, CODE],
    request: Request,
    session: SessionDep,
    lake: LakeDep,
    principal: Lab,
) -> ResultImportRead:
    round_ = service.round_for_lab(session, code=code, scope=principal.jurisdiction)
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == FHIR_JSON:
        found = parse_bundle(body)
        source = f"fhir:{principal.name}"
    else:
        try:
            batch = ResultBatch.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidInput("the results are not valid", errors=exc.errors()) from None
        found = [
            LabResult(
                r.tube_barcode,
                TubeResult(r.result),
                r.lab,
                r.resulted_at.astimezone(UTC),
                r.ct_orf1ab,
                r.ct_n,
            )
            for r in batch.results
        ]
        source = f"api:{principal.name}"
    return _result_read(results.import_results(lake, round_.code, found, source=source))


@router.post(
    "/rounds/{code}/results/import",
    response_model=ResultImportRead,
    summary="Import lab results from CSV (tube_barcode, result, lab, resulted_at[, ct_orf1ab, "
    "ct_n]); all or nothing, idempotent, audited",
)
def import_results(
    code: Annotated[str, CODE],
    session: SessionDep,
    clock: ClockDep,
    lake: LakeDep,
    principal: Lab,
    file: UploadFile = File(...),
) -> ResultImportRead:
    round_ = service.round_for_lab(session, code=code, scope=principal.jurisdiction)
    path, name = _upload(file, lake)
    try:
        report = audited(
            lambda: results.import_results(lake, round_.code, path, source=f"file:{name}"),
            kind="testing_result",
            filename=name,
            session=session,
            now=clock.now(),
            principal=principal,
            counts=lambda r: {"added": r.added, "duplicates": r.duplicates, "positive": r.positive},
        )
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    return _result_read(report)


@router.post(
    "/rounds/{code}/apply",
    response_model=ApplyRead,
    summary="Apply the results: recall lists of positive pools, cases from positive single "
    "tubes (traced at once), coverage; safe to repeat",
)
def apply_results(
    code: Annotated[str, CODE],
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
    principal: Planner,
) -> ApplyRead:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    with tracing_service.shared_lake(
        home=settings.home, engine=settings.engine, spark_master=settings.spark_master
    ) as engine:
        report = rounds.apply_round(
            session,
            round_,
            lake=lake_root(settings.home),
            policy=policy,
            now=clock.now(),
            scope=principal.jurisdiction,
            con=engine.con,
        )
    return ApplyRead.model_validate(report, from_attributes=True)


# ---------------------------------------------------------------- coverage and lists


@router.get(
    "/rounds/{code}/coverage",
    response_model=list[CoverageRead],
    summary="Sampled / due / exempt / missing (应检尽检) per area of one level",
)
def coverage(
    code: Annotated[str, CODE],
    session: SessionDep,
    lake: LakeDep,
    principal: Reader,
    level: Annotated[str, Query(pattern="^(city|district|street|community)$")] = "district",
    parent: Annotated[str | None, Query(max_length=16)] = None,
) -> list[CoverageRead]:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    rows = lists.coverage(
        lake,
        round_,
        level=level,  # type: ignore[arg-type]
        parent=parent,
        scope=principal.jurisdiction,
    )
    return [CoverageRead.model_validate(r) for r in rows]


@router.get(
    "/rounds/{code}/progress",
    response_model=list[ProgressRead],
    summary="Samples and persons sampled per hour (local time)",
)
def progress(
    code: Annotated[str, CODE], session: SessionDep, lake: LakeDep, principal: Reader
) -> list[ProgressRead]:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    return [ProgressRead.model_validate(r) for r in lists.progress(lake, round_)]


@router.get(
    "/rounds/{code}/turnaround",
    response_model=list[TurnaroundRead],
    summary="Per lab: tubes resulted and hours from a tube's closing to its result",
)
def turnaround(
    code: Annotated[str, CODE], session: SessionDep, lake: LakeDep, principal: Reader
) -> list[TurnaroundRead]:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    return [TurnaroundRead.model_validate(r) for r in lists.turnaround(lake, round_)]


LIST_STATES = {"missing": ("missing",), "recall": ("pool_positive",), "retest": ("retest",)}


def _listed(
    session: Session,
    lake: FilePath,
    clock: ClockDep,
    principal: Principal,
    code: str,
    which: str,
    community_id: int | None,
    *,
    full: bool,
) -> tuple[TestingRound, list[lists.Listed]]:
    """A list, masked; with ``full`` unmasked for a caller who may read personal data,
    and that read audited."""
    if full:
        principal.require("person.pii.read")
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    found = lists.listed(
        session,
        lake,
        round_,
        states=LIST_STATES[which],
        scope=principal.jurisdiction,
        community_id=community_id,
        pii=full,
    )
    if full and found:
        audit.record(
            session,
            principal=principal,
            action="read_pii",
            now=clock.now(),
            entity_type="testing_list",
            entity_id=f"{round_.code}:{which}",
            fields=["name", "phone"],
            detail={"rows": len(found), "community_id": community_id},
        )
    return round_, found


# Before the plain list: its path would also take `missing.xlsx` as a list's name.
@router.get(
    "/rounds/{code}/lists/{which}.xlsx",
    summary="A list as Excel for the community worker: unmasked for callers who may read "
    "personal data (audited, with a stated reason)",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def person_list_xlsx(
    code: Annotated[str, CODE],
    which: Annotated[str, Path(pattern="^(missing|recall|retest)$")],
    session: SessionDep,
    clock: ClockDep,
    lake: LakeDep,
    principal: ListExporter,
    reason: str = Query(..., min_length=2, max_length=500, description="Why it is exported."),
    community_id: RowIdQuery | None = None,
) -> Response:
    full = principal.can("person.pii.read")  # the list is for calls and door-knocking
    round_, found = _listed(session, lake, clock, principal, code, which, community_id, full=full)
    audit.record(
        session,
        principal=principal,
        action="export",
        now=clock.now(),
        entity_type="testing_list",
        entity_id=f"{round_.code}:{which}",
        reason=reason,
        detail={"rows": len(found), "community_id": community_id},
    )
    title = f"{round_.name} {lists.LIST_TITLES[which]}"
    return Response(
        lists.workbook(found, title=title),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{which}-{round_.code}.xlsx"'},
    )


@router.get(
    "/rounds/{code}/lists/{which}",
    response_model=list[ListedPerson],
    summary="Who is missing (未检), to be re-sampled (混阳复核) or to retest (masked unless "
    "full=true, which is audited)",
)
def person_list(
    code: Annotated[str, CODE],
    which: Annotated[str, Path(pattern="^(missing|recall|retest)$")],
    session: SessionDep,
    clock: ClockDep,
    lake: LakeDep,
    principal: Reader,
    community_id: RowIdQuery | None = None,
    full: bool = Query(False, description="Unmasked names and phones (person.pii.read)."),
) -> list[ListedPerson]:
    _, found = _listed(session, lake, clock, principal, code, which, community_id, full=full)
    return [ListedPerson.model_validate(r, from_attributes=True) for r in found]


@router.patch(
    "/rounds/{code}/recalls/{person_no}",
    response_model=ListedPerson,
    summary="Record that a member of a positive pool was re-sampled (cleared and positive "
    "come from the results)",
)
def recall_status(
    code: Annotated[str, CODE],
    person_no: Annotated[str, Path(max_length=32)],
    data: RecallUpdate,
    session: SessionDep,
    clock: ClockDep,
    principal: Sampler,
) -> ListedPerson:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    found = service.recalls_of(session, round_, scope=principal.jurisdiction)
    match = next(((r, p) for r, p in found if p.person_no == person_no), None)
    if match is None:
        raise NotFound(f"no recall of {person_no!r} in round {code}", person_no=person_no)
    recall, person = match
    applying.recall_status(session, recall, status=data.status, now=clock.now())
    return ListedPerson(
        person_no=person.person_no,
        name=mask_name(person.name),
        phone=mask_phone(person.phone),
        community=None,
        state="pool_positive",
        tube_barcode=recall.tube_barcode,
        sampled_at=recall.sampled_at,
        recall_status=recall.status,
        recall_due_by=recall.due_by,
    )


# ---------------------------------------------------------------- routine testing


@router.get(
    "/routine/compliance",
    response_model=RoutineRead,
    summary="Routine testing of key populations: compliance per group and enterprise",
)
def routine_compliance(
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    lake: LakeDep,
    principal: Reader,
    industry: Annotated[str | None, Query(max_length=32)] = None,
) -> RoutineRead:
    report = routine.compliance(
        session,
        lake=lake,
        policy=policy,
        at=clock.now(),
        scope=principal.jurisdiction,
        industry=industry,
    )
    return RoutineRead(
        at=report.at,
        rule=report.rule,
        groups=[_tally(t) for t in report.groups],
        enterprises=[_tally(t) for t in report.enterprises],
    )


def _tally(t: routine.Tally) -> TallyRead:
    return TallyRead(
        key=t.key,
        label=t.label,
        industry=t.industry,
        frequency=t.frequency,
        workers=t.workers,
        compliant=t.compliant,
        overdue=t.overdue,
        never=t.never,
        rate=round(t.rate, 4),
    )
