"""Input and output of mass testing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class RoundCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "ZB-2022-03-21",
                    "name": "淄博市第一轮全员核酸检测",
                    "areas": ["周村区", "张店区"],
                    "starts_at": "2022-03-21T06:00:00+08:00",
                    "pool_mode": "by_area",
                    "positivity": {"周村区": 0.001},
                }
            ]
        },
    )

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=128)
    kind: str = Field(
        "mass",
        pattern="^(mass|routine)$",
        description="mass: every resident; routine: workers of the key industries (常态化检测).",
    )
    areas: list[str] = Field(
        min_length=1,
        max_length=500,
        description="Districts or streets (code or name), or communities as c<id>.",
    )
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(
        None, description="Default: the policy's round_hours (24 h) after the start."
    )
    pool_mode: str = Field("fixed", pattern="^(fixed|by_area)$")
    pool_size: int | None = Field(None, description="Fixed size; default the policy's (10).")
    three_stage: bool = Field(False, description="by_area: allow sub-pools before singles.")
    positivity: dict[str, float] | None = Field(
        None, description="Recent positivity per area (as given in areas); else from cases."
    )


class AreaRead(BaseModel):
    level: str
    code: str
    name: str
    population: int
    positivity: float | None
    pool_size: int
    three_stage_size: int | None
    rule: str


class RoundRead(BaseModel):
    code: str
    name: str
    kind: str
    city_code: str
    starts_at: datetime
    ends_at: datetime
    pool_mode: str
    pool_size: int
    three_stage: bool
    status: str
    due: int
    areas: list[AreaRead]
    outcome: dict[str, Any] | None = Field(None, description="The last applied outcome.")


class PointRead(BaseModel):
    code: str
    name: str
    district_code: str
    street_code: str | None
    population: int
    staff: int
    tables: int
    opens_at: datetime
    closes_at: datetime


class ExemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_no: str = Field(min_length=1, max_length=32)
    reason: str = Field(pattern="^(quarantine|hospital|travelling|other)$")
    note: str | None = Field(None, max_length=200)


class ExemptionRead(BaseModel):
    person_no: str
    reason: str
    note: str | None
    recorded_by: str
    recorded_at: datetime


class SampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: str = Field(min_length=1, max_length=32, description="The registry number.")
    tube_barcode: str = Field(min_length=1, max_length=64)
    tube_size: int = Field(description="1 (single tube) or the pool's size: 5, 10, 20.")
    point_code: str = Field(min_length=1, max_length=32)
    sampled_at: AwareDatetime


class SampleBatch(BaseModel):
    """Samples from a sampling device: a few to a few thousand at a time."""

    model_config = ConfigDict(extra="forbid")

    samples: list[SampleIn] = Field(min_length=1, max_length=5000)


class SampleImportRead(BaseModel):
    round_code: str
    rows: int
    added: int
    duplicates: int
    tubes: int
    seconds: float


class TubeClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    point_code: str = Field(min_length=1, max_length=32)
    closed_at: AwareDatetime


class TubeClosed(BaseModel):
    tube_barcode: str
    closed: bool = Field(description="False when the tube was already closed (idempotent).")


class ResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tube_barcode: str = Field(min_length=1, max_length=64)
    result: str = Field(pattern="^(negative|positive|invalid)$")
    lab: str = Field(min_length=1, max_length=64)
    resulted_at: AwareDatetime
    ct_orf1ab: float | None = None
    ct_n: float | None = None


class ResultBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: list[ResultIn] = Field(min_length=1, max_length=50_000)


class ResultImportRead(BaseModel):
    round_code: str
    rows: int
    added: int
    duplicates: int
    positive: int
    invalid: int
    seconds: float


class ApplyRead(BaseModel):
    round_code: str
    figures: dict[str, Any]
    recalls_added: int
    recalls_settled: int
    cases: list[str] = Field(description="Cases created from positive single tubes.")
    already_cases: list[str]
    traced: bool


class CoverageRead(BaseModel):
    level: str
    area_code: str
    area_name: str
    parent_code: str | None
    due: int
    sampled: int
    exempt: int
    missing: int
    sampled_not_due: int
    rate: float | None


class ProgressRead(BaseModel):
    hour_start: datetime
    samples: int
    persons_new: int
    persons_cumulative: int


class TurnaroundRead(BaseModel):
    lab: str
    tubes: int
    median_hours: float | None
    p90_hours: float | None
    max_hours: float | None


class ListedPerson(BaseModel):
    """A person of a missing or recall list; name and phone masked unless the caller may
    read personal data."""

    person_no: str
    name: str | None
    phone: str | None
    community: str | None
    state: str
    tube_barcode: str | None = None
    sampled_at: datetime | None = None
    recall_status: str | None = None
    recall_due_by: datetime | None = Field(None, description="Re-sample by (recall_hours).")


class RecallUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(pattern="^(pending|resampled)$")


class TallyRead(BaseModel):
    key: str
    label: str
    industry: str
    frequency: str
    workers: int
    compliant: int
    overdue: int
    never: int
    rate: float


class RoutineRead(BaseModel):
    at: datetime
    rule: str
    groups: list[TallyRead]
    enterprises: list[TallyRead]
