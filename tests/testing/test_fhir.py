"""Lab results from a FHIR Bundle: the accepted shapes, all-or-nothing errors, idempotence."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fangkong.errors import ImportRejected, InvalidInput
from fangkong.testing.fhir import LabResult, TubeResult, parse_bundle

DATA = Path(__file__).parent / "data"
VALID = (DATA / "fhir_bundle_valid.json").read_bytes()
MALFORMED = (DATA / "fhir_bundle_malformed.json").read_bytes()
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
TIME_HINT = "e.g. 2022-04-01T10:00:00+08:00"

EXPECTED = [
    LabResult(
        tube_barcode="P10-0001",
        result=TubeResult.NEGATIVE,
        lab="市第一人民医院检验科",
        resulted_at=datetime(2022, 4, 1, 10, 30, tzinfo=UTC),
    ),
    LabResult(
        tube_barcode="P20-0002",
        result=TubeResult.POSITIVE,
        lab="市第一人民医院检验科",
        resulted_at=datetime(2022, 4, 1, 11, 5, 12, 500000, tzinfo=UTC),
        ct_orf1ab=31.2,
        ct_n=29.85,
    ),
    LabResult(
        tube_barcode="S-0003",
        result=TubeResult.INVALID,
        lab="区疾控中心实验室",
        resulted_at=datetime(2022, 4, 1, 16, 15, tzinfo=UTC),
    ),
]

Error = tuple[int, str | None, str, str | None]


def valid() -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(VALID)
    return bundle


def resource(bundle: dict[str, Any], i: int) -> dict[str, Any]:
    found: dict[str, Any] = bundle["entry"][i]["resource"]
    return found


def rejected(data: bytes | str | dict[str, Any]) -> list[Error]:
    with pytest.raises(ImportRejected) as info:
        parse_bundle(data)
    assert info.value.code == "import_rejected"
    errors: list[dict[str, Any]] = info.value.details["errors"]
    assert info.value.details["report"]["rejected"] == len({e["row"] for e in errors})
    return [(e["row"], e["column"], e["reason"], e["value"]) for e in errors]


# ---------------------------------------------------------------------------- accepted


def test_valid_bundle() -> None:
    assert parse_bundle(VALID) == EXPECTED


def test_bytes_str_and_dict_alike() -> None:
    assert parse_bundle(VALID.decode()) == EXPECTED
    assert parse_bundle(valid()) == EXPECTED
    assert parse_bundle(b"\xef\xbb\xbf" + VALID) == EXPECTED  # a BOM, as Notepad writes
    assert parse_bundle("\ufeff" + VALID.decode()) == EXPECTED


def test_times_are_utc() -> None:
    for result in parse_bundle(VALID):
        assert result.resulted_at.tzinfo is UTC
    # issued at 18:30 in Beijing; effectiveDateTime at 01:15 the next day in Tokyo.
    assert [r.resulted_at.isoformat() for r in parse_bundle(VALID)] == [
        "2022-04-01T10:30:00+00:00",
        "2022-04-01T11:05:12.500000+00:00",
        "2022-04-01T16:15:00+00:00",
    ]


def test_result_values_are_strings() -> None:
    assert [r.result for r in parse_bundle(VALID)] == ["negative", "positive", "invalid"]


def test_parsing_twice_gives_the_same_and_leaves_the_input_alone() -> None:
    bundle = valid()
    before = copy.deepcopy(bundle)
    assert parse_bundle(bundle) == parse_bundle(bundle) == EXPECTED
    assert bundle == before


def test_duplicate_identical_entries_give_one_result() -> None:
    bundle = valid()
    bundle["entry"].append(copy.deepcopy(bundle["entry"][3]))
    bundle["entry"].append(copy.deepcopy(bundle["entry"][5]))
    assert parse_bundle(bundle) == EXPECTED


def test_duplicate_with_the_same_result_keeps_the_first() -> None:
    bundle = valid()
    again = copy.deepcopy(bundle["entry"][3])
    again["resource"]["issued"] = "2022-04-01T21:00:00+08:00"
    bundle["entry"].append(again)
    assert parse_bundle(bundle) == EXPECTED


def test_other_resources_are_ignored() -> None:
    bundle = valid()
    bundle["entry"].insert(0, {"resource": {"resourceType": "Patient", "id": "p1"}})
    bundle["entry"].append(
        {
            "resource": {
                "resourceType": "DiagnosticReport",
                "status": "final",
                "code": {"text": "核酸检测报告"},
            }
        }
    )
    assert parse_bundle(bundle) == EXPECTED


def test_empty_bundle() -> None:
    assert parse_bundle({"resourceType": "Bundle", "type": "collection"}) == []


def test_barcode_as_an_observation_identifier() -> None:
    bundle = valid()
    obs = resource(bundle, 5)
    del obs["specimen"], obs["contained"]
    obs["identifier"] = [
        {"system": "urn:lab:order", "value": "ORDER-9"},
        {"system": "urn:fangkong:tube", "value": "S-0003"},
    ]
    assert parse_bundle(bundle) == EXPECTED


def test_barcode_as_a_logical_specimen_reference() -> None:
    bundle = valid()
    obs = resource(bundle, 5)
    del obs["contained"]
    obs["specimen"] = {"identifier": {"system": "urn:fangkong:tube", "value": "S-0003"}}
    assert parse_bundle(bundle) == EXPECTED


def test_result_from_the_interpretation_alone() -> None:
    bundle = valid()
    del resource(bundle, 3)["valueCodeableConcept"]
    resource(bundle, 3)["interpretation"] = [{"coding": [{"system": V3, "code": "NEG"}]}]
    assert parse_bundle(bundle) == EXPECTED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueString": " Negative "}, TubeResult.NEGATIVE),
        ({"valueString": "阳性"}, TubeResult.POSITIVE),
        ({"valueCodeableConcept": {"coding": [{"display": "INVALID"}]}}, TubeResult.INVALID),
        (
            {
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "260373001"}]
                }
            },
            TubeResult.POSITIVE,
        ),
        (
            # A local coding beside the SNOMED CT one is not read.
            {
                "valueCodeableConcept": {
                    "coding": [
                        {"system": "urn:lab:result", "code": "X"},
                        {"system": "http://snomed.info/sct", "code": "125154007"},
                    ]
                }
            },
            TubeResult.INVALID,
        ),
    ],
)
def test_result_forms(value: dict[str, Any], expected: TubeResult) -> None:
    bundle = valid()
    obs = resource(bundle, 5)
    del obs["valueCodeableConcept"]
    obs.update(value)
    assert parse_bundle(bundle)[2].result == expected


def test_ct_component_without_a_value() -> None:
    bundle = valid()
    del resource(bundle, 4)["component"][1]["valueQuantity"]  # N did not amplify
    assert parse_bundle(bundle)[1].ct_n is None
    assert parse_bundle(bundle)[1].ct_orf1ab == 31.2


# ---------------------------------------------------------------------------- rejected


def test_malformed_bundle_lists_every_bad_entry() -> None:
    assert rejected(MALFORMED) == [
        (
            2,
            "entry[1].resource.specimen",
            "no tube barcode: the Observation names no Specimen",
            None,
        ),
        (
            3,
            "entry[2].resource.valueCodeableConcept.coding[0].code",
            "unknown SNOMED CT result: one of 260385009, 260415000, 10828004, 260373001, "
            "125154007 expected",
            "1234567",
        ),
        (
            4,
            "entry[3].resource.issued",
            f"an instant needs a date, a time and a timezone offset, {TIME_HINT}",
            "2022-04-01T18:30:00",
        ),
        (
            5,
            "entry[4].resource.code",
            "not a SARS-CoV-2 NAA test: LOINC 94500-6, 94309-2, 94531-1 expected",
            "2345-7",
        ),
        (
            6,
            "entry[5].resource.status",
            "the result is not final (final, amended or corrected)",
            "preliminary",
        ),
        (8, "entry[7].resource", "tube has result positive here but negative in entry[6]", "T-1"),
    ]


def test_malformed_bundle_message() -> None:
    with pytest.raises(ImportRejected, match=r"^6 of 9 entries rejected; no result was read$"):
        parse_bundle(MALFORMED)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", r"^not a FHIR Bundle: not valid JSON \(Expecting property name"),
        (b"\x80\x81", r"^not a FHIR Bundle: not valid JSON \('utf-8' codec"),
        (b"[]", r"^not a FHIR Bundle: the JSON is not an object$"),
        (
            b'{"resourceType": "Patient"}',
            r"^not a FHIR Bundle: resourceType is 'Patient', expected 'Bundle'$",
        ),
        (b'{"entry": []}', r"^not a FHIR Bundle: resourceType is None, expected 'Bundle'$"),
        (
            b'{"resourceType": "Bundle", "entry": []}',
            r"^not a valid FHIR Bundle: type: Value for the field 'type' is required\.$",
        ),
        (
            b'{"resourceType": "Bundle", "type": "collection", "timestamp": "2022-04-01"}',
            r"^not a valid FHIR Bundle: timestamp: an instant needs a date, a time and a timezone",
        ),
        (
            b'{"resourceType": "Bundle", "type": "collection", "entry": {}}',
            r"^not a FHIR Bundle: 'entry' must be a list$",
        ),
    ],
)
def test_not_a_bundle(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_bundle(data)


def _set(i: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        for name, value in values.items():
            if value is None:
                del resource(bundle, i)[name]
            else:
                resource(bundle, i)[name] = value

    return change


def _delete(i: int, *names: str) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        for name in names:
            del resource(bundle, i)[name]

    return change


def _component_string(bundle: dict[str, Any]) -> None:
    component = resource(bundle, 4)["component"][0]
    del component["valueQuantity"]
    component["valueString"] = "31.2"


def _second_n(bundle: dict[str, Any]) -> None:
    resource(bundle, 4)["component"].append({"code": {"text": "N"}, "valueQuantity": {"value": 3}})


def _unknown_type(bundle: dict[str, Any]) -> None:
    bundle["entry"].append({"resource": {"resourceType": "Tube", "id": "t"}})


def _broken_specimen(bundle: dict[str, Any]) -> None:
    resource(bundle, 1)["barcode"] = "P10-0001"


BAD_ENTRIES: dict[str, tuple[Callable[[dict[str, Any]], None], Error]] = {
    "naive effectiveDateTime": (
        _set(5, effectiveDateTime="2022-04-02T01:15:00"),
        (
            6,
            "entry[5].resource.effectiveDateTime",
            f"a dateTime with a time of day needs a timezone offset, {TIME_HINT}",
            "2022-04-02T01:15:00",
        ),
    ),
    "a date without a time": (
        _set(5, effectiveDateTime="2022-04-02"),
        (
            6,
            "entry[5].resource.effectiveDateTime",
            "needs a time of day with a timezone offset",
            "2022-04-02",
        ),
    ),
    "no time at all": (
        _delete(5, "effectiveDateTime"),
        (
            6,
            "entry[5].resource.issued",
            "no result time: issued or effectiveDateTime expected",
            None,
        ),
    ),
    "no specimen": (
        _delete(5, "specimen"),
        (
            6,
            "entry[5].resource.specimen",
            "no tube barcode: the Observation names no Specimen",
            None,
        ),
    ),
    "specimen not in the bundle": (
        _set(5, specimen={"reference": "Specimen/elsewhere"}),
        (
            6,
            "entry[5].resource.specimen",
            "the specimen reference is neither an entry's fullUrl nor a contained resource",
            "Specimen/elsewhere",
        ),
    ),
    "specimen reference to an Organization": (
        _set(5, specimen={"reference": "Organization/lab-1"}),
        (
            6,
            "entry[5].resource.specimen",
            "the reference names an Organization, not a Specimen",
            "Organization/lab-1",
        ),
    ),
    "specimen without identifier": (
        _set(5, contained=[{"resourceType": "Specimen", "id": "s1"}]),
        (
            6,
            "entry[5].resource.specimen",
            "the Specimen has no identifier[0].value or accessionIdentifier.value",
            "#s1",
        ),
    ),
    "barcodes that disagree": (
        _set(5, identifier=[{"system": "urn:fangkong:tube", "value": "S-0004"}]),
        (
            6,
            "entry[5].resource.specimen",
            "the tube barcodes given disagree: 'S-0003' (specimen.reference), "
            "'S-0004' (identifier[0])",
            None,
        ),
    ),
    "wrong LOINC code": (
        _set(5, code={"coding": [{"system": "http://loinc.org", "code": "2345-7"}]}),
        (
            6,
            "entry[5].resource.code",
            "not a SARS-CoV-2 NAA test: LOINC 94500-6, 94309-2, 94531-1 expected",
            "2345-7",
        ),
    ),
    "the right code in another system": (
        _set(5, code={"coding": [{"system": "urn:lab:tests", "code": "94500-6"}]}),
        (
            6,
            "entry[5].resource.code",
            "not a SARS-CoV-2 NAA test: LOINC 94500-6, 94309-2, 94531-1 expected",
            None,
        ),
    ),
    "preliminary": (
        _set(5, status="preliminary"),
        (
            6,
            "entry[5].resource.status",
            "the result is not final (final, amended or corrected)",
            "preliminary",
        ),
    ),
    "registered": (
        _set(5, status="registered"),
        (
            6,
            "entry[5].resource.status",
            "the result is not final (final, amended or corrected)",
            "registered",
        ),
    ),
    "unknown result text": (
        _set(5, valueCodeableConcept={"text": "可疑"}),
        (
            6,
            "entry[5].resource.valueCodeableConcept",
            "unknown result: a SNOMED CT code (260385009, 260415000, 10828004, 260373001, "
            "125154007) or a text (阴性, negative, 阳性, positive, 无效, invalid) expected",
            "可疑",
        ),
    ),
    "unknown valueString": (
        _set(5, valueString="weak positive", valueCodeableConcept=None),
        (
            6,
            "entry[5].resource.valueString",
            "unknown result: one of 阴性, negative, 阳性, positive, 无效, invalid expected",
            "weak positive",
        ),
    ),
    "a quantity as result": (
        _set(5, valueQuantity={"value": 30}, valueCodeableConcept=None),
        (
            6,
            "entry[5].resource.valueQuantity",
            "the result must be a valueCodeableConcept or a valueString",
            None,
        ),
    ),
    "no result": (
        _delete(5, "valueCodeableConcept"),
        (
            6,
            "entry[5].resource",
            "no result: no valueCodeableConcept, valueString or interpretation",
            None,
        ),
    ),
    "interpretation contradicts the value": (
        _set(3, interpretation=[{"coding": [{"system": V3, "code": "POS"}]}]),
        (
            4,
            "entry[3].resource.interpretation",
            "the interpretation (positive) contradicts the value (negative)",
            None,
        ),
    ),
    "unknown interpretation with no value": (
        _set(
            3,
            interpretation=[{"coding": [{"system": V3, "code": "IND"}]}],
            valueCodeableConcept=None,
        ),
        (
            4,
            "entry[3].resource.interpretation[0].coding[0].code",
            "unknown interpretation: one of NEG, ND, N, POS, DET, A expected",
            "IND",
        ),
    ),
    "no lab": (
        _set(5, performer=[{"reference": "Organization/nowhere"}]),
        (
            6,
            "entry[5].resource.performer",
            "no lab: no performer names an Organization in the Bundle or has a display",
            None,
        ),
    ),
    "Ct as a string": (
        _component_string,
        (5, "entry[4].resource.component[0]", "a Ct value must be a valueQuantity", None),
    ),
    "two N Ct values": (
        _second_n,
        (5, "entry[4].resource.component[3]", "a second Ct value for N", None),
    ),
    "negative Ct": (
        lambda b: resource(b, 4)["component"][0]["valueQuantity"].update(value=-1),
        (
            5,
            "entry[4].resource.component[0].valueQuantity.value",
            "a Ct value is a number of 0 or more",
            "-1.0",
        ),
    ),
    "unknown resource type": (
        _unknown_type,
        (7, "entry[6].resource.resourceType", "'Tube' is not a FHIR R4 resource type", "Tube"),
    ),
    "an element FHIR does not have": (
        _broken_specimen,
        # Only the Specimen is reported, not again on the Observation that names it.
        (2, "entry[1].resource.barcode", "not an element of this FHIR resource", "P10-0001"),
    ),
    "missing status": (
        _delete(5, "status"),
        (6, "entry[5].resource.status", "Value for the field 'status' is required.", None),
    ),
}


@pytest.mark.parametrize(("change", "error"), BAD_ENTRIES.values(), ids=BAD_ENTRIES.keys())
def test_bad_entry(change: Callable[[dict[str, Any]], None], error: Error) -> None:
    bundle = valid()
    change(bundle)
    # None of the other, good entries is read either.
    assert rejected(json.dumps(bundle, ensure_ascii=False)) == [error]


def test_conflicting_duplicates() -> None:
    bundle = valid()
    again = copy.deepcopy(bundle["entry"][4])
    again["resource"]["valueCodeableConcept"] = {"text": "阴性"}
    bundle["entry"].append(again)
    assert rejected(bundle) == [
        (
            7,
            "entry[6].resource",
            "tube has result negative here but positive in entry[4]",
            "P20-0002",
        )
    ]
