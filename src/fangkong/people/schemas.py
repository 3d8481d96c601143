"""Input and output models of the people and places registry.

Districts and streets are accepted by GB/T 2260 code or by name (resolved by the service);
sex as ``M``/``F`` or 男/女; industries, venue categories and unit kinds as code or label.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fangkong.people import identity, masking, vocab
from fangkong.tabular import ImportErrorRead, ImportReport

__all__ = ["ImportErrorRead", "ImportReport"]


def _code_of(vocabulary: dict[str, str], what: str) -> Any:
    def parse(value: str) -> str:
        code = vocab.normalise(value, vocabulary)
        if code is None:
            raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(vocabulary)}")
        return code

    return parse


def _sex(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        return (
            vocab.normalise(text.upper(), vocab.SEXES) or vocab.normalise(text, vocab.SEXES) or text
        )
    return value


Key = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[\w\-.]+$"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
LongName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
IdNumber = Annotated[str, AfterValidator(identity.validate_id_number)]
Phone = Annotated[str, AfterValidator(identity.validate_phone)]
Sex = Annotated[Literal["M", "F"], BeforeValidator(_sex)]
BirthYear = Annotated[int, Field(ge=1900, le=2030)]
Industry = Annotated[str, AfterValidator(_code_of(vocab.INDUSTRIES, "industry"))]
Category = Annotated[str, AfterValidator(_code_of(vocab.VENUE_CATEGORIES, "venue category"))]
UnitKind = Annotated[str, AfterValidator(_code_of(vocab.UNIT_KINDS, "unit kind"))]


def check_birth_year(id_number: str | None, birth_year: int | None) -> int | None:
    """The birth year: as given, or from the ID number; ``ValueError`` when they disagree."""
    if id_number is None:
        return birth_year
    derived = identity.birth_of(id_number).year
    if birth_year is not None and birth_year != derived:
        raise ValueError(f"birth_year {birth_year} disagrees with the ID number ({derived})")
    return derived


# ---------------------------------------------------------------- persons


class PersonFields(BaseModel):
    """What a person record holds, by name and number (the service resolves them)."""

    model_config = ConfigDict(extra="forbid")

    id_number: IdNumber | None = Field(None, description="18-character resident ID (GB 11643).")
    phone: Phone | None = Field(None, description="11-digit mainland mobile number.")
    sex: Sex | None = Field(None, description="M or F (男/女 accepted).")
    birth_year: BirthYear | None = Field(None, description="Derived from id_number if omitted.")
    household_no: Key | None = Field(None, description="Household (户编号); created if new.")
    district: str | None = Field(None, description="District code or name.")
    street: str | None = Field(None, description="Street (街道/镇) code or name.")
    community: Name | None = Field(None, description="Community (社区/村); needs a street.")
    compound: Name | None = Field(None, description="Compound (小区); needs a community.")
    building: ShortName | None = Field(None, description="Building (楼栋); needs a compound.")
    room: ShortName | None = None
    workplace_no: Key | None = Field(None, description="A workplace already in the registry.")
    workplace_unit: Name | None = Field(
        None, description="Department, workshop or class of the workplace; created if new."
    )

    @field_validator("birth_year")
    @classmethod
    def _agrees_with_id_number(cls, value: int | None, info: ValidationInfo) -> int | None:
        # id_number is declared first, so it is validated (or failed) by now
        return check_birth_year(info.data.get("id_number"), value) if value is not None else None


class PersonCreate(PersonFields):
    person_no: Key = Field(description="The registry number (人员编号).")
    name: Name

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "person_no": "P370306000123",
                    "name": "张三",
                    "id_number": "370306198503150014",
                    "phone": "13853312345",
                    "sex": "男",
                    "household_no": "H370306000045",
                    "district": "周村区",
                    "street": "丝绸路街道",
                    "community": "新建路社区",
                    "compound": "丝绸苑小区",
                    "building": "3号楼",
                    "room": "2单元301",
                    "workplace_no": "W0001",
                    "workplace_unit": "生产一车间",
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _birth_year(self) -> PersonCreate:
        self.birth_year = check_birth_year(self.id_number, self.birth_year)
        return self


class PersonUpdate(PersonFields):
    """A partial edit: only the fields given change. A new district, street, community or
    compound clears the address levels below it unless they are given too."""

    name: Name | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"phone": "13953398765", "room": "1单元502"}]},
    )


class PersonRead(BaseModel):
    person_no: str
    name: str
    id_number: str | None
    phone: str | None
    sex: str | None
    sex_label: str | None
    birth_year: int | None
    household_no: str | None
    district_code: str | None
    district_name: str | None
    street_code: str | None
    street_name: str | None
    unit_code: str | None = Field(description="Reporting unit (区县/功能区) of the address.")
    unit_name: str | None
    community: str | None
    compound: str | None
    building: str | None
    room: str | None
    workplace_no: str | None
    workplace_name: str | None
    workplace_unit: str | None
    masked: bool = Field(
        False, description="Name, ID number and phone are masked; building and room left out."
    )
    created_at: datetime
    updated_at: datetime

    def masked_copy(self) -> PersonRead:
        """The same record with name, ID number and phone masked and the address below
        the compound (building, room) left out: for lists, exports and callers without
        ``person.pii.read``."""
        return self.model_copy(
            update={
                "name": masking.mask_name(self.name),
                "id_number": masking.mask_id_number(self.id_number),
                "phone": masking.mask_phone(self.phone),
                "building": None,
                "room": None,
                "masked": True,
            }
        )

    def pii_fields(self) -> list[str]:
        """The personal fields this record shows (unmasked), as the audit log names them."""
        return [f for f in masking.PII_FIELDS if getattr(self, f)]


class PersonPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[PersonRead]


class HouseholdRead(BaseModel):
    household_no: str
    members: list[PersonRead]


# ---------------------------------------------------------------- venues


class VenueFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    industry: Industry | None = Field(None, description="Industry code or label.")
    street: str | None = Field(None, description="Street code or name.")
    address: Address | None = None
    capacity: int | None = Field(
        None, gt=0, le=1_000_000, description="Maximum people at once (限流)."
    )


class VenueCreate(VenueFields):
    venue_code: Key = Field(description="The venue code (场所码).")
    name: LongName
    category: Category = Field(description="Category code or label (超市, gym ...).")
    district: str = Field(description="District code or name.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "venue_code": "V3703060001",
                    "name": "银座超市周村店",
                    "category": "超市",
                    "industry": "retail",
                    "district": "周村区",
                    "street": "丝绸路街道",
                    "address": "正阳路100号",
                    "capacity": 300,
                }
            ]
        },
    )


class VenueUpdate(VenueFields):
    """A partial edit; a new district clears the street unless one is given."""

    name: LongName | None = None
    category: Category | None = None
    district: str | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"capacity": 150}]})


class VenueRead(BaseModel):
    venue_code: str
    name: str
    category: str
    category_label: str
    industry: str | None
    industry_label: str | None
    district_code: str
    district_name: str
    street_code: str | None
    street_name: str | None
    unit_code: str
    unit_name: str
    address: str | None
    capacity: int | None


class VenuePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[VenueRead]


# ---------------------------------------------------------------- workplaces


class WorkplaceUnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: UnitKind = Field("department", description="department, workshop, classroom, team.")


class WorkplaceCreate(BaseModel):
    workplace_no: Key = Field(description="The registry number (单位编号).")
    name: LongName
    industry: Industry = Field(description="Industry code or label.")
    district: str = Field(description="District code or name.")
    street: str | None = Field(None, description="Street code or name.")
    address: Address | None = None
    units: list[WorkplaceUnitIn] = Field(default_factory=list)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "workplace_no": "W0001",
                    "name": "淄博某纺织有限公司",
                    "industry": "制造业",
                    "district": "周村区",
                    "street": "丝绸路街道",
                    "units": [
                        {"name": "生产一车间", "kind": "workshop"},
                        {"name": "办公室", "kind": "department"},
                    ],
                }
            ]
        },
    )

    @field_validator("units")
    @classmethod
    def _units_once(cls, units: list[WorkplaceUnitIn]) -> list[WorkplaceUnitIn]:
        names = [u.name for u in units]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"unit listed twice: {', '.join(twice)}")
        return units


class WorkplaceUnitRead(BaseModel):
    name: str
    kind: str
    kind_label: str


class WorkplaceRead(BaseModel):
    workplace_no: str
    name: str
    industry: str
    industry_label: str
    district_code: str
    district_name: str
    street_code: str | None
    street_name: str | None
    unit_code: str
    unit_name: str
    address: str | None
    units: list[WorkplaceUnitRead]


class WorkplacePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[WorkplaceRead]
