"""Coverage, progress and turnaround of a round, and the person lists a community acts on
(masked unless the caller may read personal data, and then audited)."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Path, Query, Response

from fangkong.apiutil import RowIdQuery
from fangkong.auth import audit
from fangkong.auth.principal import Principal
from fangkong.deps import ClockDep, SessionDep
from fangkong.errors import NotFound
from fangkong.people.masking import mask_name, mask_phone
from fangkong.testing import apply as applying
from fangkong.testing import lists, service
from fangkong.testing.models import TestingRound
from fangkong.testing.schemas import (
    CoverageRead,
    ListedPerson,
    ProgressRead,
    RecallUpdate,
    TurnaroundRead,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from fangkong.testing.api.common import CODE, XLSX, LakeDep, ListExporter, Reader, Sampler

router = APIRouter()


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
        states=lists.LIST_STATES[which],
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
