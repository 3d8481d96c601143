"""The shared table reader: headers in either language, row numbers, NUL refused."""

from __future__ import annotations

from fangkong.tabular import Column, read_table

COLUMNS = [Column("case_no", "病例编号", required=True), Column("name", "姓名")]


def test_chinese_header_and_spreadsheet_row_numbers() -> None:
    table = read_table("病例编号,姓名\nA1,张三\n\nA2,李四\n".encode(), "x.csv", COLUMNS)
    assert [(r.number, r.values["case_no"]) for r in table.rows] == [(2, "A1"), (4, "A2")]
    assert not table.errors


def test_a_nul_in_a_cell_is_a_row_error() -> None:
    table = read_table(b"case_no,name\nA1,ok\nA2,bad\x00name\n", "x.csv", COLUMNS)
    assert [(e.row, e.column, e.reason) for e in table.errors] == [
        (3, "name", "contains a NUL character")
    ]


def test_missing_required_column_is_row_1() -> None:
    table = read_table(b"name\nx\n", "x.csv", COLUMNS)
    assert [(e.row, e.column) for e in table.errors] == [(1, "case_no")]


def test_a_row_with_a_nul_goes_no_further() -> None:
    table = read_table(b"case_no,name\nA1,ok\nA2,bad\x00name\n", "x.csv", COLUMNS)
    assert [r.values["case_no"] for r in table.rows] == ["A1"]


def test_a_text_cell_that_a_spreadsheet_would_run_is_written_as_text() -> None:
    from fangkong.tabular import safe_cell

    for text in ("=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(text) == "'" + text
    for value in ("张三", "a=b", "", None, -5, 1.5):
        assert safe_cell(value) == value
