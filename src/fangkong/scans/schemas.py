"""Input and output of the scans API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class ScanIn(BaseModel):
    """One venue scan. Times in ISO 8601; without an offset they are Asia/Shanghai time."""

    person_id: str = Field(min_length=1, max_length=32)
    venue_code: str = Field(min_length=1, max_length=32)
    entered_at: datetime
    left_at: datetime | None = Field(
        None, description="Exit time; when absent, the policy's stay for the venue category."
    )


class ScansAccepted(BaseModel):
    accepted: int = Field(description="Scans written to the durable buffer.")
    buffered: int = Field(description="Scans in the buffer, waiting for the next flush.")


class LakeDayRead(BaseModel):
    day: date
    files: int
    rows: int
    compacted: bool


class LakeStatsRead(BaseModel):
    days: list[LakeDayRead]
    rows: int
    buffered: int
