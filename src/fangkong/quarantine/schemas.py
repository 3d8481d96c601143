"""Input and output of sites, orders, placement, transfers and releases."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class SiteRead(BaseModel):
    code: str
    name: str
    kind: str
    district_code: str
    address: str | None
    status: str
    rooms: int
    beds: int
    rooms_in_use: int
    persons: int
    arriving: int
    beds_free: int
    rooms_free: int
    share: float


class DayCount(BaseModel):
    day: date
    persons: int


class SiteDetail(SiteRead):
    lon: float | None
    lat: float | None
    phone: str | None
    by_day: list[DayCount]


class PlanCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"date": "2022-03-16"}]}
    )

    date: date
    split_households: bool = Field(
        False, description="Spread a household over rooms of one site when no room holds it."
    )


class OrderBrief(BaseModel):
    order_no: str
    person_no: str
    name: str | None  # masked in lists
    person_kind: str
    kind: str
    status: str
    start_on: date
    planned_end: date
    hand_over_on: date | None
    site: str | None
    room: str | None
    rule: str


class Unplaced(BaseModel):
    order_no: str
    person_no: str
    reason: str


class TransferRead(BaseModel):
    task_no: str
    site: str
    site_name: str
    pickup_address: str | None = Field(
        description="Down to building and room with full=true (person.pii.read, audited); "
        "down to the compound otherwise."
    )
    pickup_at: datetime
    persons: int
    vehicle: str | None
    team: str | None
    status: str
    done_at: datetime | None
    masked: bool = Field(True, description="The pickup address stops at the compound.")


class PlanRead(BaseModel):
    date: date
    orders: int
    by_kind: dict[str, int]
    already_in_force: int
    not_managed: dict[str, int]
    at_home: int
    placed: int
    waiting: list[Unplaced]
    transfers: list[TransferRead]


class OrderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"person_no": "P0001", "kind": "close", "start_on": "2022-03-16"}]
        },
    )

    person_no: str = Field(min_length=1, max_length=32)
    kind: str = Field(description="close, secondary, high_risk, medium_risk, low_risk, discharged")
    start_on: date
    note: str | None = Field(None, max_length=200)


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    why: str = Field(min_length=2, max_length=200)


class TransitionRead(BaseModel):
    from_status: str | None
    to_status: str
    at: datetime
    by: str
    why: str


class StageRead(BaseModel):
    kind: str
    label: str
    first_day: date
    last_day: date
    test_dates: list[date]


class TestRead(BaseModel):
    __test__ = False  # not a pytest class

    due_on: date
    stage: str
    number: int
    two_labs: bool
    state: str
    round_code: str | None
    resulted_at: datetime | None


class OrderRead(OrderBrief):
    source: str
    note: str | None
    converted_case_no: str | None
    stages: list[StageRead]
    transitions: list[TransitionRead]
    tests: list[TestRead]


class OrderPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[OrderBrief]


class ReleaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date


class Held(BaseModel):
    order_no: str
    person_no: str
    reasons: list[str]


class ReleaseRead(BaseModel):
    date: date
    released: list[str]
    to_home_monitoring: list[str]
    completed: list[str]
    held: list[Held]


class TransferUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vehicle: str | None = Field(None, max_length=32)
    team: str | None = Field(None, max_length=64)
    pickup_at: AwareDatetime | None = None


class TransferCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    why: str = Field(min_length=2, max_length=200)


class BoardRead(BaseModel):
    """Today at a glance: for the dashboard and the quarantine page."""

    date: date
    sites: int
    beds: int
    beds_free: int
    in_quarantine: int
    in_home_monitoring: int
    pending_transfer: int
    waiting_for_room: int
    transfers_pending: int
    releases_due: int
    tests_due: int
    tests_overdue: int
    alerts_open: int
