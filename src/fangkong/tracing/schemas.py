"""Input and output of contact tracing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fangkong.tracing.rules import ContactStatus, Degree


class TraceRequest(BaseModel):
    """Either case numbers or a report day (all cases reported that day)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"case_nos": ["ZB-001"]}]}
    )

    case_nos: list[str] | None = Field(None, min_length=1, max_length=1000)
    day: date | None = None

    @model_validator(mode="after")
    def _one(self) -> TraceRequest:
        if (self.case_nos is None) == (self.day is None):
            raise ValueError("give either case_nos or day")
        return self


class CaseTraceRead(BaseModel):
    case_no: str
    traceable: bool
    note: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    window_rule: str | None = None
    close: int = 0
    secondary: int = 0
    general: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0


class ChainLinkRead(BaseModel):
    infector_case_no: str
    case_no: str
    degree: Degree
    linked: bool = Field(description="False when the later case already had an infector.")


class TraceReport(BaseModel):
    cases: list[CaseTraceRead]
    totals: dict[str, int]
    chain: list[ChainLinkRead]


class ContactRead(BaseModel):
    person_no: str
    name: str | None
    id_number: str | None
    phone: str | None
    degree: Degree
    status: ContactStatus
    rule: str
    reasons: list[dict[str, Any]]
    first_found_at: datetime
    updated_at: datetime


class VisitRead(BaseModel):
    venue_code: str
    venue_name: str | None
    category: str | None
    entered_at: datetime
    left_at: datetime
    left_at_inferred: bool = False


class ClusterEdge(BaseModel):
    source: str
    target: str
    kind: str  # infector / shared_contact / co_presence / contact
    detail: str | None = None


class ClusterRead(BaseModel):
    name: str
    first_case_no: str
    first_day: date
    district_name: str
    case_nos: list[str]
    edges: list[ClusterEdge]


class ContactStatusUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "notified"}]}
    )

    status: ContactStatus
