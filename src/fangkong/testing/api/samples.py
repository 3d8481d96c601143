"""Samples from the sampling points and results from the labs, by batch or by file, and
applying them to the round."""

from __future__ import annotations

import shutil
from datetime import UTC
from pathlib import Path as FilePath
from pathlib import PurePath
from typing import TYPE_CHECKING, Annotated

import pyarrow as pa
from fastapi import APIRouter, Depends, File, Path, Request, UploadFile
from pydantic import ValidationError

from fangkong.apiutil import audited
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import InvalidInput
from fangkong.flows import rounds
from fangkong.lake import staging
from fangkong.lake.layout import lake_root
from fangkong.testing import results, samples, service
from fangkong.testing.fhir import LabResult, TubeResult, parse_bundle
from fangkong.testing.schemas import (
    ApplyRead,
    ResultBatch,
    ResultImportRead,
    SampleBatch,
    SampleImportRead,
    TubeClose,
    TubeClosed,
)
from fangkong.tracing import service as tracing_service

if TYPE_CHECKING:
    pass
from fangkong.testing.api.common import CODE, Lab, LakeDep, Planner, Sampler

router = APIRouter()


# ---------------------------------------------------------------- samples and results

FHIR_JSON = "application/fhir+json"


def _upload(file: UploadFile, lake: FilePath) -> tuple[FilePath, str]:
    """The upload in the lake's staging folder, under its own name (CSV or Parquet)."""
    name = PurePath(file.filename or "upload.csv").name
    suffix = PurePath(name).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InvalidInput(f"{name}: upload a .csv or .parquet file")
    folder = staging.new_folder(lake, "upload-")
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


async def _body(request: Request) -> bytes:
    """The raw body, read on the event loop (the one thing that awaits)."""
    return await request.body()


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
def add_results(
    code: Annotated[str, CODE],
    request: Request,
    body: Annotated[bytes, Depends(_body)],
    session: SessionDep,
    lake: LakeDep,
    principal: Lab,
) -> ResultImportRead:
    # Plain def: parsing a large bundle and writing the lake run in the thread pool.
    round_ = service.round_for_lab(session, code=code, scope=principal.jurisdiction)
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
