"""HTTP API of home health monitoring (居家健康监测): reports entered by community workers,
the community's worklist, alert tasks, self-report links, and the public self-report
endpoints a link opens.

Worker routes name their permission and cut every read to the caller's jurisdiction (an
order elsewhere answers 404). The self-report routes are public: the link's secret is the
credential, and it reaches one order only; no person or order is ever taken from the
client.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fangkong.apiutil import Days, Limit, Offset, RowIdPath, RowIdQuery
from fangkong.auth import audit
from fangkong.auth.deps import Public, Require
from fangkong.auth.principal import Principal
from fangkong.auth.service import Keys
from fangkong.clock import today
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.monitoring import links, rules, service, worklist
from fangkong.monitoring import tasks as monitoring_tasks
from fangkong.monitoring.rules import SYMPTOMS

router = APIRouter(prefix="/monitoring", tags=["monitoring"])

Reader = Annotated[Principal, Depends(Require("quarantine.read"))]
Reporter = Annotated[Principal, Depends(Require("monitoring.report"))]
SelfLink = Depends(Public("self-report link: the secret in the path is the credential"))
OrderNo = Annotated[str, Path(max_length=40)]
Token = Annotated[str, Path(max_length=80)]
# The link is a secret in the URL: keep it out of caches and of other sites' logs.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportCreate(_In):
    temperature: float = Field(..., allow_inf_nan=False, description="℃, 34–43.")
    symptoms: list[str] = Field(
        default_factory=list, max_length=len(SYMPTOMS), description="Symptom codes."
    )
    at: AwareDatetime | None = Field(None, description="When taken; default now.")
    channel: Literal["phone", "visit"] = "phone"
    note: str | None = Field(None, max_length=200)


class SelfReportCreate(_In):
    """What the person sends: a temperature and symptoms, nothing that names anyone."""

    temperature: float = Field(..., allow_inf_nan=False, description="℃, 34–43.")
    symptoms: list[str] = Field(default_factory=list, max_length=len(SYMPTOMS))
    note: str | None = Field(None, max_length=200)


class ReportRead(BaseModel):
    order_no: str
    day: date
    window: str | None
    reported_at: datetime
    temperature: float
    symptoms: list[str]
    channel: str
    alert: str | None = Field(None, description="Why it alerts (a referral was raised).")
    task_id: int | None = None


class SelfReportRead(BaseModel):
    day: date
    window: str | None
    temperature: float
    alert: bool
    message: str


class WindowRead(BaseModel):
    name: str
    label: str
    opens: time
    closes: time
    state: str
    state_label: str
    temperature: float | None
    alert: bool
    reported_at: datetime | None
    channel: str | None


class SelfInfo(BaseModel):
    name: str | None
    day: date
    monitored: bool
    windows: list[WindowRead]
    last_temperature: float | None
    fever_celsius: float
    symptoms: dict[str, str]
    expires_at: datetime


class TaskRead(BaseModel):
    id: int
    order_no: str
    person_no: str
    name: str | None
    kind: str
    day: date
    window: str
    reason: str
    status: str
    community_id: int | None
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    outcome: str | None


class TaskPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[TaskRead]


class TaskDone(_In):
    outcome: str = Field(..., min_length=1, max_length=200, description="What was done.")


class MemberRead(BaseModel):
    order_no: str
    person_no: str
    name: str | None
    phone: str | None
    address: str | None
    status: str
    windows: list[WindowRead]
    last_temperature: float | None
    last_reported_at: datetime | None
    alert: bool
    other_reports: int
    open_tasks: list[TaskRead]


class HouseholdRead(BaseModel):
    household_no: str | None
    members: list[MemberRead]


class WorklistRead(BaseModel):
    day: date
    community_id: int
    community_name: str
    pii: bool
    total_households: int
    total_persons: int
    counts: dict[str, int]
    limit: int
    offset: int
    households: list[HouseholdRead]


class LinkCreate(_In):
    ttl_hours: float | None = Field(
        None, gt=0, le=720, description="Sooner expiry; default the end of home monitoring."
    )


class LinkRead(BaseModel):
    url: str = Field(..., description="Shown once: the store keeps only a hash.")
    prefix: str
    expires_at: datetime


class Revoked(BaseModel):
    revoked: int


def _window(view: rules.WindowView) -> WindowRead:
    return WindowRead(
        name=view.name,
        label=view.label,
        opens=view.opens,
        closes=view.closes,
        state=view.state,
        state_label=view.state_label,
        temperature=view.temperature,
        alert=view.alert,
        reported_at=view.reported_at,
        channel=view.channel,
    )


def _task(row: monitoring_tasks.TaskRow) -> TaskRead:
    return TaskRead.model_validate(row, from_attributes=True)


# ---------------------------------------------------------------- community workers


@router.post(
    "/orders/{order_no}/reports",
    response_model=ReportRead,
    status_code=201,
    summary="Enter a temperature report taken by phone or at the door; a fever or a listed "
    "symptom raises a referral at once",
)
def add_report(
    order_no: OrderNo,
    data: ReportCreate,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Reporter,
) -> ReportRead:
    order = service.get_order(session, order_no=order_no, scope=principal.jurisdiction)
    now = clock.now()
    done = service.record_report(
        session,
        order=order,
        at=data.at or now,
        temperature=data.temperature,
        symptoms=data.symptoms,
        channel=data.channel,
        entered_by=principal.name,
        note=data.note,
        policy=policy,
        now=now,
    )
    r = done.report
    return ReportRead(
        order_no=order.order_no,
        day=r.day,
        window=r.window,
        reported_at=r.reported_at,
        temperature=r.temperature,
        symptoms=rules.symptom_codes(r.symptoms),
        channel=r.channel,
        alert=done.alert,
        task_id=done.task.id if done.task else None,
    )


@router.get(
    "/worklist",
    response_model=WorklistRead,
    summary="A community's households under home monitoring on a day: morning and evening "
    "reports, last temperature, open tasks (masked unless full=true, which is audited)",
)
def get_worklist(
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Reader,
    community_id: RowIdQuery,
    day: date | None = None,
    full: bool = Query(False, description="Unmasked names and phones (person.pii.read)."),
    limit: Limit = 50,
    offset: Offset = 0,
    *,
    days: Days,
) -> WorklistRead:
    days.check(day, "day")
    if full:
        principal.require("person.pii.read")
    now = clock.now()
    found = worklist.worklist(
        session,
        day=day or today(clock),
        community_id=community_id,
        scope=principal.jurisdiction,
        now=now,
        policy=policy,
        pii=full,
        limit=limit,
        offset=offset,
    )
    if full:
        worklist.record_full_view(session, principal=principal, found=found, now=now)
    return WorklistRead(
        day=found.day,
        community_id=found.community_id,
        community_name=found.community_name,
        pii=found.pii,
        total_households=found.total_households,
        total_persons=found.total_persons,
        counts=found.counts,
        limit=found.limit,
        offset=found.offset,
        households=[
            HouseholdRead(
                household_no=h.household_no,
                members=[
                    MemberRead(
                        order_no=m.order_no,
                        person_no=m.person_no,
                        name=m.name,
                        phone=m.phone,
                        address=m.address,
                        status=m.status,
                        windows=[_window(w) for w in m.windows],
                        last_temperature=m.last_temperature,
                        last_reported_at=m.last_reported_at,
                        alert=m.alert,
                        other_reports=m.other_reports,
                        open_tasks=[_task(t) for t in m.open_tasks],
                    )
                    for m in h.members
                ],
            )
            for h in found.households
        ],
    )


@router.get(
    "/tasks",
    response_model=TaskPage,
    summary="Referral and follow-up tasks in your jurisdiction (names masked)",
)
def list_tasks(
    session: SessionDep,
    principal: Reader,
    day: date | None = None,
    kind: Annotated[str | None, Query(pattern="^(referral|follow_up)$")] = None,
    status: Annotated[str | None, Query(pattern="^(open|done)$")] = None,
    community_id: RowIdQuery | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    *,
    days: Days,
) -> TaskPage:
    days.check(day, "day")
    rows, total = monitoring_tasks.tasks(
        session,
        scope=principal.jurisdiction,
        day=day,
        kind=kind,
        status=status,
        community_id=community_id,
        limit=limit,
        offset=offset,
    )
    return TaskPage(total=total, limit=limit, offset=offset, items=[_task(r) for r in rows])


@router.post(
    "/tasks/{task_id}/done",
    response_model=TaskRead,
    summary="Close a task with what was done (referred, reached, visited …)",
)
def task_done(
    task_id: RowIdPath, data: TaskDone, session: SessionDep, clock: ClockDep, principal: Reporter
) -> TaskRead:
    task = monitoring_tasks.get_task(session, task_id=task_id, scope=principal.jurisdiction)
    monitoring_tasks.close_task(
        session, task=task, by=principal.name, outcome=data.outcome, now=clock.now()
    )
    return _task(monitoring_tasks.task_read(session, task=task))


@router.post(
    "/orders/{order_no}/link",
    response_model=LinkRead,
    status_code=201,
    summary="Issue the person's self-report link (shown once); the previous one is revoked",
)
def issue_link(
    order_no: OrderNo,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: Reporter,
    data: LinkCreate | None = None,
) -> LinkRead:
    order = service.get_order(session, order_no=order_no, scope=principal.jurisdiction)
    now = clock.now()
    ttl = timedelta(hours=data.ttl_hours) if data and data.ttl_hours else None
    issued = links.issue(
        session,
        order=order,
        keys=Keys.from_settings(settings),
        now=now,
        created_by=principal.name,
        ttl=ttl,
    )
    audit.record(
        session,
        principal=principal,
        action="issue_link",
        now=now,
        entity_type="quarantine_order",
        entity_id=order.order_no,
        detail={"prefix": issued.link.prefix, "expires_at": issued.link.expires_at},
    )
    response.headers.update(PRIVATE)
    return LinkRead(
        url=str(request.base_url).rstrip("/") + issued.path,
        prefix=issued.link.prefix,
        expires_at=issued.link.expires_at,
    )


@router.delete(
    "/orders/{order_no}/link",
    response_model=Revoked,
    summary="Revoke the person's self-report link",
)
def revoke_link(
    order_no: OrderNo, session: SessionDep, clock: ClockDep, principal: Reporter
) -> Revoked:
    order = service.get_order(session, order_no=order_no, scope=principal.jurisdiction)
    now = clock.now()
    count = service.revoke_links(session, order_id=order.id, now=now)
    audit.record(
        session,
        principal=principal,
        action="revoke_link",
        now=now,
        entity_type="quarantine_order",
        entity_id=order.order_no,
        detail={"revoked": count},
    )
    return Revoked(revoked=count)


# ---------------------------------------------------------------- the person's own link


@router.get(
    "/self/{token}",
    response_model=SelfInfo,
    dependencies=[SelfLink],
    summary="What a self-report link shows: a masked name and today's report windows",
)
def self_info(
    token: Token,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
) -> SelfInfo:
    response.headers.update(PRIVATE)
    now = clock.now()
    link, order = links.resolve(session, raw=token, keys=Keys.from_settings(settings), now=now)
    view = service.self_view(session, order=order, now=now, policy=policy)
    return SelfInfo(
        name=view.name,
        day=view.day,
        monitored=view.monitored,
        windows=[_window(w) for w in view.windows],
        last_temperature=view.last_temperature,
        fever_celsius=policy.quarantine.fever_celsius,
        symptoms=dict(SYMPTOMS),
        expires_at=link.expires_at,
    )


@router.post(
    "/self/{token}/reports",
    response_model=SelfReportRead,
    status_code=201,
    dependencies=[SelfLink],
    summary="Report one's own temperature and symptoms through the link",
)
def self_report(
    token: Token,
    data: SelfReportCreate,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
) -> SelfReportRead:
    response.headers.update(PRIVATE)
    now = clock.now()
    link, order = links.resolve(session, raw=token, keys=Keys.from_settings(settings), now=now)
    done = service.record_report(
        session,
        order=order,
        at=now,
        temperature=data.temperature,
        symptoms=data.symptoms,
        channel="self",
        entered_by=f"link:{link.prefix}",
        note=data.note,
        policy=policy,
        now=now,
    )
    alert = done.alert is not None
    return SelfReportRead(
        day=done.report.day,
        window=done.report.window,
        temperature=done.report.temperature,
        alert=alert,
        message=rules.self_message(alert=alert, window=done.report.window),
    )
