"""Input and output models of the case registry and its statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fangkong.cases.vocab import Classification, FoundVia, Origin
from fangkong.tabular import ImportErrorRead, ImportReport

__all__ = ["ImportErrorRead", "ImportReport"]


class CaseFields(BaseModel):
    """Fields a person enters; districts by code (370306) or name (周村区)."""

    model_config = ConfigDict(extra="forbid")

    person_no: str | None = Field(None, description="Registry person this case is.")
    name: str | None = Field(None, max_length=64)
    id_number: str | None = Field(None, max_length=18)
    origin: Origin = Origin.local
    found_via: FoundVia | None = None
    district: str | None = Field(
        None, description="District code or name; from the person's address when omitted."
    )
    street: str | None = Field(None, description="Street code or name (decides function zone).")
    sampled_on: date | None = None
    onset_on: date | None = None
    converted_on: date | None = None
    discharged_on: date | None = None
    infector_case_no: str | None = Field(None, description="The case that infected this one.")
    notes: str | None = None


class CaseCreate(CaseFields):
    case_no: str = Field(min_length=1, max_length=32, pattern=r"^[\w\-.]+$")
    classification: Classification = Field(description="Classification when reported.")
    reported_on: date

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "case_no": "ZB-2022-0194",
                    "name": "张三",
                    "district": "桓台县",
                    "classification": "asymptomatic",
                    "origin": "local",
                    "found_via": "quarantine_site",
                    "sampled_on": "2022-03-22",
                    "reported_on": "2022-03-23",
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> CaseCreate:
        check_dates(
            self.classification,
            self.reported_on,
            sampled_on=self.sampled_on,
            onset_on=self.onset_on,
            converted_on=self.converted_on,
            discharged_on=self.discharged_on,
        )
        return self


class CaseUpdate(BaseModel):
    """A partial edit: only the fields given change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"found_via": "quarantine_site", "onset_on": "2022-03-21"}]
        },
    )

    person_no: str | None = None
    name: str | None = Field(None, max_length=64)
    id_number: str | None = Field(None, max_length=18)
    classification: Classification | None = None
    origin: Origin | None = None
    found_via: FoundVia | None = None
    district: str | None = None
    street: str | None = None
    sampled_on: date | None = None
    onset_on: date | None = None
    reported_on: date | None = None
    converted_on: date | None = None
    discharged_on: date | None = None
    infector_case_no: str | None = None
    notes: str | None = None


class DayEvent(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"on": "2022-03-22"}]}
    )

    on: date


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_no: str
    person_no: str | None
    name: str | None
    id_number: str | None
    classification: Classification
    reported_classification: Classification
    origin: Origin
    found_via: FoundVia | None
    under_control: bool | None = Field(description="Found under control (RULES §1); None: unknown.")
    city_code: str
    district_code: str
    district_name: str
    street_code: str | None
    unit_code: str
    unit_name: str
    sampled_on: date | None
    onset_on: date | None
    reported_on: date
    converted_on: date | None
    discharged_on: date | None
    infector_case_no: str | None
    notes: str | None
    status: str = Field("counted", description="pending (held for review), counted, voided")
    created_at: datetime
    updated_at: datetime


class CasePage(BaseModel):
    total: int
    items: list[CaseRead]


class DayFiguresRead(BaseModel):
    day: date
    new_confirmed: int
    new_asymptomatic: int
    new_total: int
    conversions: int
    discharges: int
    under_control: int
    community: int
    imported_abroad: int
    imported_other_province: int
    total_confirmed: int
    total_asymptomatic: int
    total_discharged: int
    community_zero: bool = Field(description="No new local case in the community this day.")
    zero_streak: int = Field(description="Consecutive days of community_zero up to this one.")
    community_cleared: bool = Field(description="社会面清零: zero_streak reached the policy's N.")
    single_digit_streak: int = Field(
        description="Consecutive days with fewer new cases than the policy's M (个位数)."
    )
    below_threshold_streak: int
    stable_control: bool = Field(description="稳定控制期 by the policy's N days below M.")
    basic_zero_day: bool | None
    basic_zero_streak: int
    community_basically_cleared: bool
    rules: list[str] = Field(description="Policy rules behind the flags (edition:rule).")


class UnitFiguresRead(BaseModel):
    unit_code: str
    unit_name: str
    new_total: int
    new_confirmed: int
    new_asymptomatic: int
    total_confirmed: int
    total_asymptomatic: int
    zero_streak: int


class BulletinRead(BaseModel):
    city_code: str
    city_name: str
    day: date
    since: date | None
    text: str = Field(description="The bulletin as the figures read now.")
    published_text: str | None = Field(
        None, description="The bulletin as published that day, word for word (if it was)."
    )
    published_at: datetime | None = None


class CaseReview(BaseModel):
    """审核通过 (``confirm``) a case held for review, or 核减 (``void``) a case, with why."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["confirm", "void"]
    reason: str = Field(min_length=1, max_length=500)


class CaseCorrectionIn(BaseModel):
    """订正: the facts that change (as a partial edit) and why."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)
    changes: CaseUpdate


class DateOrderError(ValueError):
    """Dates of a case that contradict each other; ``field`` is the one to correct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_dates(
    classification: Classification,
    reported_on: date,
    *,
    sampled_on: date | None,
    onset_on: date | None,
    converted_on: date | None,
    discharged_on: date | None,
) -> None:
    """Raise ``DateOrderError`` (a ``ValueError``) when the dates of a case contradict
    each other."""
    if sampled_on and sampled_on > reported_on:
        raise DateOrderError("sampled_on", "sampled_on is after reported_on")
    if onset_on and onset_on > reported_on and classification == Classification.confirmed:
        raise DateOrderError(
            "onset_on", "onset_on is after reported_on for a case confirmed at report"
        )
    if converted_on:
        if classification != Classification.asymptomatic:
            raise DateOrderError("converted_on", "only an asymptomatic infection can be converted")
        if converted_on < reported_on:
            raise DateOrderError("converted_on", "converted_on is before reported_on")
    if discharged_on and discharged_on < reported_on:
        raise DateOrderError("discharged_on", "discharged_on is before reported_on")
