"""Nucleic-acid lab results from an HL7 FHIR R4 Bundle: one result row per tube.

A lab sends one Observation per tube (the swab of one person, or a pool of 5, 10 or 20).
``parse_bundle`` turns the Bundle into ``LabResult`` rows, all or nothing: any bad entry
rejects the whole Bundle, with every problem listed (``ImportRejected``, as the CSV importers
do). Row *n* is the Bundle's *n*-th entry; the column is a FHIRPath, 0-based as FHIRPath is,
so row 3 is ``entry[2]``. A document that is not a FHIR Bundle at all is one ``InvalidInput``.

The Bundle is read with the R4B models of ``fhir.resources`` (FHIR 4.3), which read R4
(4.0.1) JSON of the resources used here unchanged. Any Bundle type is read; entries that are
not Observations are there only to be referenced (Specimen, Organization) or are ignored
(Patient, DiagnosticReport ...).

Recommended shape (one Specimen per tube, referenced by ``fullUrl``)::

    {"resourceType": "Bundle", "type": "collection", "entry": [
      {"fullUrl": "urn:uuid:0b7d…", "resource": {"resourceType": "Organization",
        "name": "市疾控中心实验室"}},
      {"fullUrl": "urn:uuid:5e21…", "resource": {"resourceType": "Specimen",
        "identifier": [{"system": "urn:fangkong:tube", "value": "T0001"}]}},
      {"fullUrl": "urn:uuid:9a3c…", "resource": {"resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
        "specimen": {"reference": "urn:uuid:5e21…"},
        "performer": [{"reference": "urn:uuid:0b7d…"}],
        "issued": "2022-04-01T18:30:00+08:00",
        "valueCodeableConcept": {"coding": [
          {"system": "http://snomed.info/sct", "code": "260385009"}]}}}]}

Also accepted, for each field of a ``LabResult``:

- tube barcode: the Specimen that ``Observation.specimen.reference`` names, by an entry's
  ``fullUrl``, by ``Specimen/{id}``, or as ``#id`` in the Observation's ``contained``; its
  ``identifier[0].value``, else ``accessionIdentifier.value``. Or the barcode given directly,
  as ``specimen.identifier.value`` or an Observation ``identifier`` whose ``system`` contains
  "tube". Where several are given they must agree.
- result: ``valueCodeableConcept`` with a SNOMED CT code of ``RESULT_CODES``, or whose text
  (``text`` or a coding's ``display``) is one of ``RESULT_TEXTS``; or ``valueString`` with
  such a text. With no value, the ``interpretation`` (HL7 v3 codes of
  ``INTERPRETATION_CODES``) gives it; with a value, an interpretation must not contradict it.
  An unknown SNOMED CT code or text is an error, never a guess.
- test: ``code`` must carry one of ``TEST_CODES`` (LOINC); any other code is an error, not
  skipped. A 94531-1 panel must carry its result in its own value.
- Ct values (optional): ``component`` entries whose code text, display or code reads
  "ORF1ab" or "N" (also "N gene", "ORF1ab Ct", "N基因"), with a ``valueQuantity``. This
  is a convenience by name, not by LOINC code; other components are ignored.
- lab: the name of the Organization a ``performer`` references, else the performer's
  ``display``.
- resulted_at: ``issued``, else ``effectiveDateTime`` or ``effectiveInstant``; it needs a
  time of day and a timezone offset (FHIR requires both), and is given in UTC.
- status: ``final``, ``amended`` or ``corrected``; a preliminary result is an error.

The same tube twice with the same result is read once (the first); with different results it
is an error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.specimen import Specimen
from pydantic import ValidationError

from fangkong.errors import ImportRejected, InvalidInput
from fangkong.tabular import ImportReport, RowError


class TubeResult(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"
    INVALID = "invalid"  # the tube must be swabbed again


@dataclass(frozen=True)
class LabResult:
    tube_barcode: str
    result: TubeResult
    lab: str
    resulted_at: datetime  # aware, UTC
    ct_orf1ab: float | None = None
    ct_n: float | None = None


LOINC = "http://loinc.org"
SNOMED_CT = "http://snomed.info/sct"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

TEST_CODES: Mapping[str, str] = {
    "94500-6": "SARS-CoV-2 RNA [Presence] in Respiratory specimen by NAA with probe detection",
    "94309-2": "SARS-CoV-2 RNA [Presence] in Unspecified specimen by NAA with probe detection",
    "94531-1": "SARS-CoV-2 RNA panel - Respiratory specimen by NAA with probe detection",
}

RESULT_CODES: Mapping[str, TubeResult] = {
    "260385009": TubeResult.NEGATIVE,  # Negative
    "260415000": TubeResult.NEGATIVE,  # Not detected
    "10828004": TubeResult.POSITIVE,  # Positive
    "260373001": TubeResult.POSITIVE,  # Detected
    "125154007": TubeResult.INVALID,  # Specimen unsatisfactory for evaluation
}

RESULT_TEXTS: Mapping[str, TubeResult] = {
    "阴性": TubeResult.NEGATIVE,
    "negative": TubeResult.NEGATIVE,
    "阳性": TubeResult.POSITIVE,
    "positive": TubeResult.POSITIVE,
    "无效": TubeResult.INVALID,
    "invalid": TubeResult.INVALID,
}

# For a qualitative test "normal" can only mean not detected, "abnormal" detected. No v3
# code means a failed test (indeterminate is not the same), so an invalid tube needs a value.
INTERPRETATION_CODES: Mapping[str, TubeResult] = {
    "NEG": TubeResult.NEGATIVE,
    "ND": TubeResult.NEGATIVE,
    "N": TubeResult.NEGATIVE,
    "POS": TubeResult.POSITIVE,
    "DET": TubeResult.POSITIVE,
    "A": TubeResult.POSITIVE,
}

FINAL_STATUSES = frozenset({"final", "amended", "corrected"})

_CT_TARGET = re.compile(
    r"(?:ct\s*[-:]?\s*)?(orf\s*1\s*ab|n)(?:\s*gene|\s*基因)?(?:\s*[-:]?\s*ct(?:\s*value)?)?",
    re.IGNORECASE,
)
_MESSAGE_LIMIT = 5  # validation problems shown for a Bundle that is rejected whole
_VALUE_KINDS = ("valueCodeableConcept", "valueString")


# ---------------------------------------------------------------------------- reading


def parse_bundle(data: bytes | str | Mapping[str, Any]) -> list[LabResult]:
    """The Bundle's results, one per tube, in entry order; raise if anything is wrong.

    ``InvalidInput`` when the document is not a FHIR Bundle; ``ImportRejected`` listing every
    bad entry (``details['errors']``: row, column, reason, value) otherwise.
    """
    try:
        return _parse(data)
    except RecursionError:
        # json and pydantic recurse per level: a document nested thousands deep is refused
        # as what it is, not answered with a crash.
        raise InvalidInput("not a FHIR Bundle: the JSON is nested too deeply") from None


def _parse(data: bytes | str | Mapping[str, Any]) -> list[LabResult]:
    document = _load(data)
    raw_entries = document.get("entry", [])
    if not isinstance(raw_entries, list):
        raise InvalidInput("not a FHIR Bundle: 'entry' must be a list")
    try:
        Bundle.model_validate({k: v for k, v in document.items() if k != "entry"})
    except ValidationError as exc:
        raise InvalidInput(f"not a valid FHIR Bundle: {_summary(exc, '')}") from exc

    errors: list[RowError] = []
    entries: list[tuple[int, BundleEntry]] = []
    index = _Index()
    for i, raw in enumerate(raw_entries):
        entry, entry_errors = _validate_entry(i, raw)
        errors.extend(entry_errors)
        if entry is None:
            index.add_broken(raw)
        else:
            entries.append((i, entry))
            index.add(entry)

    results: list[LabResult] = []
    first: dict[str, tuple[int, LabResult]] = {}
    for i, entry in entries:
        if not isinstance(entry.resource, Observation):
            continue
        result, entry_errors = _read_observation(i, entry.resource, index)
        errors.extend(entry_errors)
        if result is None:
            continue
        seen = first.get(result.tube_barcode)
        if seen is None:
            first[result.tube_barcode] = (i, result)
            results.append(result)
        elif seen[1].result != result.result:
            reason = (
                f"tube has result {result.result} here but {seen[1].result} in entry[{seen[0]}]"
            )
            errors.append(RowError(i + 1, f"entry[{i}].resource", reason, result.tube_barcode))

    if errors:
        report = ImportReport()
        report.reject(errors)
        raise ImportRejected(
            f"{report.rejected} of {len(raw_entries)} entries rejected; no result was read",
            errors=[e.model_dump() for e in report.errors],
            report=report.model_dump(),
        )
    return results


def _load(data: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(data, bytes | str):
        try:
            # A BOM is allowed in bytes (json detects it) but not in str: Notepad writes one.
            loaded = json.loads(data.lstrip("\ufeff") if isinstance(data, str) else data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"not a FHIR Bundle: not valid JSON ({exc})") from exc
    else:
        loaded = data
    if not isinstance(loaded, Mapping):
        raise InvalidInput("not a FHIR Bundle: the JSON is not an object")
    kind = loaded.get("resourceType")
    if kind != "Bundle":
        raise InvalidInput(f"not a FHIR Bundle: resourceType is {kind!r}, expected 'Bundle'")
    return dict(loaded)


def _validate_entry(i: int, raw: object) -> tuple[BundleEntry | None, list[RowError]]:
    row, where = i + 1, f"entry[{i}]"
    resource = raw.get("resource") if isinstance(raw, dict) else None
    if isinstance(resource, dict):
        kind = resource.get("resourceType")
        if not isinstance(kind, str):
            return None, [RowError(row, f"{where}.resource", "resource has no resourceType")]
        try:
            get_fhir_model_class(kind)
        except ValueError:
            reason = f"{kind!r} is not a FHIR R4 resource type"
            return None, [RowError(row, f"{where}.resource.resourceType", reason, kind)]
    try:
        return BundleEntry.model_validate(raw), []
    except ValidationError as exc:
        return None, [
            RowError(row, _path(where, err["loc"]), _reason(err), _shown(err.get("input")))
            for err in exc.errors()
        ]
    except (KeyError, TypeError, ValueError) as exc:
        # The models raise KeyError('R4.FooType') for an unknown type deeper down (contained).
        unknown = re.fullmatch(r"'R4B?\.(\w+)Type'", str(exc))
        reason = (
            f"{unknown.group(1)!r} is not a FHIR R4 resource type"
            if unknown
            else f"not a valid FHIR entry ({exc})"
        )
        return None, [RowError(row, f"{where}.resource", reason)]


# ---------------------------------------------------------------------------- references


@dataclass
class _Index:
    """The Bundle's resources by ``fullUrl`` and by ``Type/id``, for resolving references."""

    by_url: dict[str, Resource] = field(default_factory=dict)
    by_key: dict[str, Resource] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # entries already reported as invalid

    def add(self, entry: BundleEntry) -> None:
        resource = entry.resource
        if resource is None:
            return
        if entry.fullUrl:
            self.by_url[entry.fullUrl] = resource
        if resource.id:
            self.by_key[f"{resource.get_resource_type()}/{resource.id}"] = resource

    def add_broken(self, raw: object) -> None:
        if not isinstance(raw, dict):
            return
        if isinstance(raw.get("fullUrl"), str):
            self.broken.add(raw["fullUrl"])
        resource = raw.get("resource")
        if isinstance(resource, dict) and "id" in resource:
            self.broken.add(f"{resource.get('resourceType')}/{resource['id']}")

    def resolve(self, ref: str, owner: Observation) -> Resource | None:
        if ref.startswith("#"):
            return next((r for r in owner.contained or [] if r.id == ref[1:]), None)
        if ref in self.by_url:
            return self.by_url[ref]
        return self.by_key.get(_key(ref))

    def is_broken(self, ref: str) -> bool:
        return ref in self.broken or _key(ref) in self.broken


def _key(ref: str) -> str:
    """``Type/id`` of a relative or absolute literal reference, without ``_history``."""
    parts = ref.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:])


# ---------------------------------------------------------------------------- one result


class _Fail(Protocol):
    """Reports one problem of an Observation: the element (a path below it), why, the value."""

    def __call__(self, element: str, reason: str, value: object = None) -> None: ...


def _read_observation(
    i: int, obs: Observation, index: _Index
) -> tuple[LabResult | None, list[RowError]]:
    row, at = i + 1, f"entry[{i}].resource"
    errors: list[RowError] = []

    def fail(element: str, reason: str, value: object = None) -> None:
        path = f"{at}.{element}" if element else at
        errors.append(RowError(row, path, reason, None if value is None else str(value)))

    if obs.status not in FINAL_STATUSES:
        fail("status", "the result is not final (final, amended or corrected)", obs.status)
    _check_test_code(obs.code, fail)
    barcode = _barcode(obs, index, fail)
    result = _result(obs, fail)
    lab = _lab(obs, index, fail)
    resulted_at = _resulted_at(obs, fail)
    ct = _ct_values(obs.component or [], fail)
    # A missing part with no error of its own was reported on another entry (its Specimen).
    if errors or barcode is None or result is None or lab is None or resulted_at is None:
        return None, errors
    return LabResult(barcode, result, lab, resulted_at, ct.get("orf1ab"), ct.get("n")), []


def _check_test_code(code: CodeableConcept, fail: _Fail) -> None:
    codes = [c.code for c in code.coding or [] if c.system == LOINC and c.code]
    if not any(c in TEST_CODES for c in codes):
        shown = ", ".join(codes) or code.text or None
        fail("code", f"not a SARS-CoV-2 NAA test: LOINC {', '.join(TEST_CODES)} expected", shown)


def _barcode(obs: Observation, index: _Index, fail: _Fail) -> str | None:
    found: dict[str, str] = {}  # barcode -> where it was read
    unresolved: str | None = None
    ref = obs.specimen
    if ref is not None and ref.reference:
        target = index.resolve(ref.reference, obs)
        if isinstance(target, Specimen):
            value = _specimen_barcode(target)
            if value is None:
                fail(
                    "specimen",
                    "the Specimen has no identifier[0].value or accessionIdentifier.value",
                    ref.reference,
                )
                return None
            found.setdefault(value, "specimen.reference")
        elif target is not None:
            kind = target.get_resource_type()
            article = "an" if kind[0] in "AEIOU" else "a"
            reason = f"the reference names {article} {kind}, not a Specimen"
            fail("specimen", reason, ref.reference)
            return None
        elif index.is_broken(ref.reference):
            return None  # the Specimen's own errors are reported on its entry
        else:
            unresolved = ref.reference
    if ref is not None and ref.identifier is not None and _text(ref.identifier.value):
        found.setdefault(_text(ref.identifier.value) or "", "specimen.identifier")
    for n, ident in enumerate(obs.identifier or []):
        value = _text(ident.value)
        if value and ident.system and "tube" in ident.system.lower():
            found.setdefault(value, f"identifier[{n}]")
    if len(found) > 1:
        shown = ", ".join(f"{v!r} ({where})" for v, where in found.items())
        fail("specimen", f"the tube barcodes given disagree: {shown}")
        return None
    if found:
        return next(iter(found))
    if unresolved is not None:
        reason = "the specimen reference is neither an entry's fullUrl nor a contained resource"
        fail("specimen", reason, unresolved)
    else:
        fail("specimen", "no tube barcode: the Observation names no Specimen")
    return None


def _specimen_barcode(specimen: Specimen) -> str | None:
    first = specimen.identifier[0] if specimen.identifier else None
    accession = specimen.accessionIdentifier
    return _text(first.value if first else None) or _text(accession.value if accession else None)


def _result(obs: Observation, fail: _Fail) -> TubeResult | None:
    given = _given_value(obs)
    if given not in (None, *_VALUE_KINDS):
        fail(given or "", "the result must be a valueCodeableConcept or a valueString")
        return None
    value: TubeResult | None = None
    if obs.valueCodeableConcept is not None:
        value = _coded_result(obs.valueCodeableConcept, "valueCodeableConcept", fail)
    elif obs.valueString is not None:
        value = RESULT_TEXTS.get(obs.valueString.strip().lower())
        if value is None:
            fail(
                "valueString",
                f"unknown result: one of {', '.join(RESULT_TEXTS)} expected",
                obs.valueString,
            )
    interpreted = _interpretation(obs.interpretation or [], strict=given is None, fail=fail)
    if given is None:
        if interpreted is None and not obs.interpretation:
            fail("", "no result: no valueCodeableConcept, valueString or interpretation")
        return interpreted
    if value is not None and interpreted is not None and interpreted != value:
        fail(
            "interpretation", f"the interpretation ({interpreted}) contradicts the value ({value})"
        )
        return None
    return value


def _given_value(element: Observation | ObservationComponent) -> str | None:
    """The name of the element's value[x], if it has one."""
    for name in type(element).model_fields:
        if name.startswith("value") and "__" not in name and getattr(element, name) is not None:
            return name
    return None


def _coded_result(concept: CodeableConcept, element: str, fail: _Fail) -> TubeResult | None:
    found: set[TubeResult] = set()
    for n, coding in enumerate(concept.coding or []):
        if coding.system == SNOMED_CT:
            known = RESULT_CODES.get(coding.code or "")
            if known is not None:
                found.add(known)
            else:
                codes = ", ".join(RESULT_CODES)
                fail(
                    f"{element}.coding[{n}].code",
                    f"unknown SNOMED CT result: one of {codes} expected",
                    coding.code,
                )
                return None
    if not found:
        texts = [concept.text, *(c.display for c in concept.coding or [])]
        found = {RESULT_TEXTS[t] for t in _texts(texts) if t in RESULT_TEXTS}
    if not found:
        shown = concept.text or ", ".join(f"{c.system}|{c.code}" for c in concept.coding or [])
        reason = (
            f"unknown result: a SNOMED CT code ({', '.join(RESULT_CODES)}) "
            f"or a text ({', '.join(RESULT_TEXTS)}) expected"
        )
        fail(element, reason, shown or None)
        return None
    if len(found) > 1:
        fail(element, f"the codings disagree: {', '.join(sorted(found))}")
        return None
    return found.pop()


def _interpretation(
    concepts: Sequence[CodeableConcept], *, strict: bool, fail: _Fail
) -> TubeResult | None:
    """The result the v3 interpretation codes give; unknown codes are errors only when the
    interpretation is the result (``strict``), a mere flag beside a value otherwise."""
    found: set[TubeResult] = set()
    for n, concept in enumerate(concepts):
        for m, coding in enumerate(concept.coding or []):
            if coding.system != V3_INTERPRETATION:
                continue
            known = INTERPRETATION_CODES.get(coding.code or "")
            if known is not None:
                found.add(known)
            elif strict:
                codes = ", ".join(INTERPRETATION_CODES)
                where = f"interpretation[{n}].coding[{m}].code"
                fail(where, f"unknown interpretation: one of {codes} expected", coding.code)
                return None
    if strict and concepts and not found:
        fail("interpretation", "no HL7 v3 interpretation code: the result is unknown")
        return None
    if len(found) > 1:
        fail("interpretation", f"the interpretation codes disagree: {', '.join(sorted(found))}")
        return None
    return found.pop() if found else None


def _lab(obs: Observation, index: _Index, fail: _Fail) -> str | None:
    for ref in obs.performer or []:
        target = index.resolve(ref.reference, obs) if ref.reference else None
        name = _text(target.name) if isinstance(target, Organization) else None
        if name or _text(ref.display):
            return name or _text(ref.display)
    fail("performer", "no lab: no performer names an Organization in the Bundle or has a display")
    return None


def _resulted_at(obs: Observation, fail: _Fail) -> datetime | None:
    for element in ("issued", "effectiveDateTime", "effectiveInstant"):
        # A dateTime without a time of day (2022-04-01, 2022-04) is read as a date or str.
        value: object = getattr(obs, element)
        if value is None:
            continue
        if not isinstance(value, datetime):
            fail(element, "needs a time of day with a timezone offset", value)
            return None
        if value.tzinfo is None:
            fail(element, "needs a timezone offset (FHIR requires one)", value.isoformat())
            return None
        return value.astimezone(UTC)
    fail("issued", "no result time: issued or effectiveDateTime expected")
    return None


def _ct_values(components: Sequence[ObservationComponent], fail: _Fail) -> dict[str, float]:
    values: dict[str, float] = {}
    seen: set[str] = set()
    for n, component in enumerate(components):
        target = _ct_target(component.code)
        if target is None:
            continue
        where = f"component[{n}]"
        if target in seen:
            fail(where, f"a second Ct value for {target.upper()}")
            continue
        seen.add(target)
        quantity = component.valueQuantity
        if quantity is None or quantity.value is None:
            if _given_value(component) not in (None, "valueQuantity"):
                fail(where, "a Ct value must be a valueQuantity")
            continue  # no value: the target did not amplify
        ct = float(quantity.value)
        if not math.isfinite(ct) or ct < 0:
            fail(f"{where}.valueQuantity.value", "a Ct value is a number of 0 or more", ct)
            continue
        values[target] = ct
    return values


def _ct_target(code: CodeableConcept) -> str | None:
    """``orf1ab`` or ``n`` when the component's code names that gene target."""
    names = [
        code.text,
        *(c.display for c in code.coding or []),
        *(c.code for c in code.coding or []),
    ]
    for name in _texts(names):
        match = _CT_TARGET.fullmatch(name)
        if match:
            return "n" if match.group(1).lower() == "n" else "orf1ab"
    return None


# ---------------------------------------------------------------------------- helpers


def _text(value: str | None) -> str | None:
    return (value.strip() or None) if value else None


def _texts(values: Iterable[str | None]) -> list[str]:
    return [v.strip().lower() for v in values if v and v.strip()]


def _path(prefix: str, loc: Sequence[int | str]) -> str:
    """A pydantic error location as a FHIRPath: ``entry[2].resource.component[0].code``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = "resourceType" if part == "resource_type" else part
            path += f".{name}" if path else name
    return path


_EXAMPLE_TIME = "e.g. 2022-04-01T10:00:00+08:00"
_PRIMITIVE_HINTS = {
    "Instant": f"an instant needs a date, a time and a timezone offset, {_EXAMPLE_TIME}",
    "DateTime": f"a dateTime with a time of day needs a timezone offset, {_EXAMPLE_TIME}",
    "Decimal": "not a decimal number",
}


def _reason(err: Mapping[str, Any]) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    kind = message.split(" value string does not match spec regex", 1)
    if len(kind) == 2:
        return _PRIMITIVE_HINTS.get(kind[0], f"not a valid FHIR {kind[0][:1].lower()}{kind[0][1:]}")
    if err["type"] == "extra_forbidden":
        return "not an element of this FHIR resource"
    return " ".join(message.split())  # the library's messages carry indentation


def _shown(value: object) -> str | None:
    return (
        str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    )


def _summary(exc: ValidationError, prefix: str) -> str:
    errors = exc.errors()
    shown = [
        f"{_path(prefix, e['loc']) or 'Bundle'}: {_reason(e)}" for e in errors[:_MESSAGE_LIMIT]
    ]
    more = len(errors) - _MESSAGE_LIMIT
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
