"""Case import from CSV or Excel: every row validated, all or nothing, idempotent.

A file with any bad row imports nothing and reports every bad row (row, column, reason).
A good file is applied as upserts by ``case_no``: new cases are added, changed ones
updated, identical ones left alone, so importing the same file twice changes nothing.
A row whose case lies outside the importer's jurisdiction is a bad row like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.cases import service
from fangkong.cases.models import Case
from fangkong.cases.schemas import CaseCreate, CaseUpdate, DateOrderError, ImportReport
from fangkong.cases.vocab import (
    CLASSIFICATION_LABELS,
    FOUND_VIA_LABELS,
    ORIGIN_LABELS,
    Classification,
    FoundVia,
    Origin,
    parse_code,
)
from fangkong.errors import FangkongError, ImportRejected
from fangkong.tabular import Column, Row, RowError, parse_date, read_table

COLUMNS = [
    Column("case_no", "病例编号", required=True),
    Column("person_id", "人员编号", aliases=("person_no",)),
    Column("name", "姓名"),
    Column("id_number", "身份证号"),
    Column("district", "区县", aliases=("district_code",)),
    Column("street", "街道", aliases=("street_code", "镇街")),
    Column("classification", "类型", required=True),
    Column("origin", "来源"),
    Column("found_via", "发现途径"),
    Column("sampled_on", "采样日期"),
    Column("onset_on", "发病日期"),
    Column("reported_on", "报告日期", required=True),
    Column("converted_on", "转确诊日期"),
    Column("discharged_on", "出院日期"),
    Column("infector_case_no", "传染源病例"),
    Column("notes", "备注"),
]
DATES = ("sampled_on", "onset_on", "reported_on", "converted_on", "discharged_on")


@dataclass
class _Parsed:
    row: int
    data: CaseCreate


def _parse_row(row: Row) -> tuple[CaseCreate | None, list[RowError]]:
    errors: list[RowError] = []
    values: dict[str, Any] = {}

    def take(column: str, parse: Any) -> None:
        raw = row.get(column)
        if raw is None:
            return
        try:
            values[column] = parse(raw)
        except ValueError as exc:
            errors.append(RowError(row.number, column, str(exc), raw))

    values["case_no"] = row.get("case_no")
    if values["case_no"] is None:
        errors.append(RowError(row.number, "case_no", "case_no is empty"))
    for column in ("name", "id_number", "district", "street", "infector_case_no", "notes"):
        values[column] = row.get(column)
    values["person_no"] = row.get("person_id")
    take("classification", lambda v: parse_code(Classification, CLASSIFICATION_LABELS, v))
    if row.get("classification") is None:
        errors.append(RowError(row.number, "classification", "classification is empty"))
    take("origin", lambda v: parse_code(Origin, ORIGIN_LABELS, v))
    take("found_via", lambda v: parse_code(FoundVia, FOUND_VIA_LABELS, v))
    for column in DATES:
        take(column, parse_date)
    if row.get("reported_on") is None:
        errors.append(RowError(row.number, "reported_on", "reported_on is empty"))
    if errors:
        return None, errors
    try:
        return CaseCreate.model_validate({k: v for k, v in values.items() if v is not None}), []
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc") or ()
            where = str(loc[0]) if loc else None
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, DateOrderError):
                where = cause.field  # a check across fields names the field to correct
            if where == "person_no":
                where = "person_id"
            reason = err["msg"].removeprefix("Value error, ")
            errors.append(RowError(row.number, where, reason, row.get(where or "")))
        return None, errors


def import_cases(
    session: Session, *, data: bytes, filename: str, now: datetime, scope: Jurisdiction
) -> ImportReport:
    """Validate the whole file, then apply it; raise ``ImportRejected`` on any bad row."""
    table = read_table(data, filename, COLUMNS)
    errors = list(table.errors)
    parsed: list[_Parsed] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        case, row_errors = _parse_row(row)
        errors.extend(row_errors)
        if case is None:
            continue
        if case.case_no in seen:
            errors.append(
                RowError(
                    row.number, "case_no", f"duplicate of row {seen[case.case_no]}", case.case_no
                )
            )
            continue
        seen[case.case_no] = row.number
        parsed.append(_Parsed(row.number, case))
    errors.extend(_unknown_infectors(session, parsed, table.rows, scope))
    report = ImportReport(ignored_columns=table.ignored_columns)
    if parsed:
        # Applied (and rolled back) even when other rows are bad, so that every row's
        # problems with the registry (unknown district, person ...) are reported at once.
        _apply_rows(session, parsed, seen, errors, report, now, scope)
    if errors:
        report.reject(errors)
        raise ImportRejected(
            f"{report.rejected} row(s) rejected; nothing was imported",
            errors=[e.model_dump() for e in report.errors],
            report=report.model_dump(),
        )
    return report


def _unknown_infectors(
    session: Session, parsed: list[_Parsed], rows: list[Row], scope: Jurisdiction
) -> list[RowError]:
    """Infectors must be in the file (any row, even a bad one) or already registered in
    the importer's jurisdiction."""
    in_file = {no for row in rows if (no := row.get("case_no"))}
    wanted = {no for p in parsed if (no := p.data.infector_case_no) and no not in in_file}
    known = service.case_nos_in_scope(session, wanted, scope=scope)
    errors = []
    for item in parsed:
        no = item.data.infector_case_no
        if not no:
            continue
        if no == item.data.case_no:
            errors.append(RowError(item.row, "infector_case_no", "a case cannot infect itself", no))
        elif no not in in_file and no not in known:
            reason = f"unknown case {no!r}: neither in this file nor in the registry"
            errors.append(RowError(item.row, "infector_case_no", reason, no))
    return errors


def _apply_rows(
    session: Session,
    parsed: list[_Parsed],
    seen: dict[str, int],
    errors: list[RowError],
    report: ImportReport,
    now: datetime,
    scope: Jurisdiction,
) -> None:
    """Upsert inside a savepoint, in two passes: the cases, then the infector links (an
    infector may be a later row of the same file). Look-ups go in batches and new cases in
    one bulk insert, so a file of any size takes a handful of statements per thousand rows."""
    existing = service.cases_anywhere(session, seen)
    visible = service.case_nos_in_scope(session, existing, scope=scope)
    persons = service.persons_for(session, (no for p in parsed if (no := p.data.person_no)))
    before = {no: service.snapshot(case) for no, case in existing.items()}
    _begin_outer(session)
    nested = session.begin_nested()
    new: list[Case] = []
    changes = []
    for item in parsed:
        data = item.data
        try:
            if data.case_no in existing:
                if data.case_no not in visible:
                    # Registered, but not where the importer may see it: it cannot be updated.
                    reason = (
                        f"outside your jurisdiction: case {data.case_no!r} is registered elsewhere"
                    )
                    errors.append(RowError(item.row, "district", reason, _place_value(item)))
                    continue
                update = CaseUpdate.model_validate(
                    data.model_dump(exclude={"case_no", "infector_case_no"})
                )
                change = service.edit_case(
                    session,
                    existing[data.case_no],
                    data=update,
                    now=now,
                    scope=scope,
                    persons=persons,
                )
                if change is not None:
                    changes.append(change)
            else:
                new.append(
                    service.new_case(
                        session,
                        data=data.model_copy(update={"infector_case_no": None}),
                        now=now,
                        scope=scope,
                        persons=persons,
                    )
                )
        except OutsideJurisdiction as exc:
            reason = (
                f"outside your jurisdiction ({exc.details['jurisdiction']}): "
                f"the case is in {exc.details['place_name']}"
            )
            errors.append(RowError(item.row, "district", reason, _place_value(item)))
        except FangkongError as exc:
            errors.append(RowError(item.row, _column_of(exc), exc.message))
    if errors:
        nested.rollback()
        return
    service.apply_count_changes(session, changes)
    stored = {**existing, **service.add_cases(session, new)}
    # The infector links: every case of the file is stored now; an infector not in the
    # file was found in the importer's jurisdiction (``_unknown_infectors``).
    outside = {no for p in parsed if (no := p.data.infector_case_no) and no not in stored}
    ids = {no: case.id for no, case in stored.items()}
    ids.update(service.case_nos_in_scope(session, outside, scope=scope))
    for item in parsed:
        case = stored[item.data.case_no]
        no = item.data.infector_case_no
        infector = ids[no] if no else None
        if case.infector_case_id != infector:
            case.infector_case_id = infector
            if item.data.case_no in existing:
                case.updated_at = now
    session.flush()
    nested.commit()
    for item in parsed:
        no = item.data.case_no
        if no not in existing:
            report.added += 1
            report.added_keys.append(no)
        elif service.snapshot(existing[no]) != before[no]:
            report.updated += 1
        else:
            report.unchanged += 1


def _place_value(item: _Parsed) -> str | None:
    return item.data.district or item.data.street


def _begin_outer(session: Session) -> None:
    """Make the caller's transaction real before the savepoint.

    pysqlite emits BEGIN only before a write; a SAVEPOINT taken first would then be the
    outermost transaction, and releasing it would commit the import behind the caller's
    back (services never commit).
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not getattr(raw, "in_transaction", True):
            connection.exec_driver_sql("BEGIN")


def _column_of(exc: FangkongError) -> str | None:
    for key in ("field", "district", "street", "person_no", "case_no"):
        if key in exc.details:
            return {"person_no": "person_id"}.get(key, key if key != "field" else exc.details[key])
    return None
