"""A sampling plan as an Excel workbook, for the district and street offices that staff it.

Sheets: 采样点 (one row per point), 时段 (one row per point and slot), 汇总 (per district, the
city total, and the ratios used with their source). Times are Asia/Shanghai local time.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from fangkong.clock import LOCAL_TZ
from fangkong.tabular import safe_row
from fangkong.testing.planning import Plan, PlannedPoint, PlanRatios

Cell = str | int | datetime

POINT_HEADERS = (
    "区县",
    "街道",
    "社区",
    "社区编码",
    "采样点编号",
    "服务人数",
    "采样人员",
    "采样台",
    "开始",
    "结束",
)
SLOT_HEADERS = ("点位", "开始", "结束", "预计人数")
SUMMARY_HEADERS = ("区县", "人口", "采样点", "采样人员", "采样台")
CITY_TOTAL = "全市合计"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
BOLD = Font(bold=True)


def plan_workbook(plan: Plan, *, title: str) -> bytes:
    book = Workbook()
    book.properties.title = title
    # `book.active` is not typed as a Worksheet: create every sheet and drop the default one.
    book.remove(book.worksheets[0])

    points = list(_ordered_points(plan))
    _write_table(
        book.create_sheet("采样点"),
        POINT_HEADERS,
        [
            (
                p.district,
                p.street,
                p.community_name,
                p.community_code,
                p.code,
                p.population_served,
                p.staff,
                p.tables,
                plan.window_start,
                plan.window_end,
            )
            for p in points
        ],
    )
    _write_table(
        book.create_sheet("时段"),
        SLOT_HEADERS,
        [(p.code, s.starts_at, s.ends_at, s.expected_people) for p in points for s in p.slots],
    )

    summary = book.create_sheet("汇总")
    rows: list[Sequence[Cell]] = [
        (district, t.population, t.points, t.staff, t.tables)
        for district, t in plan.district_totals().items()
    ]
    total = plan.totals
    rows.append((CITY_TOTAL, total.population, total.points, total.staff, total.tables))
    _write_table(summary, SUMMARY_HEADERS, rows)
    for cell in summary[summary.max_row]:
        cell.font = BOLD
    # Notes go below the table and stay out of the column widths.
    summary.append(())
    summary.append(safe_row((f"计划：{title}",)))
    summary.append((f"时间窗：{_local_text(plan.window_start)} 至 {_local_text(plan.window_end)}",))
    summary.append((ratios_text(plan.ratios),))

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ratios_text(ratios: PlanRatios) -> str:
    """The ratios a plan used, as one line naming their source."""
    return (
        f"测算比例：每个采样点服务{ratios.people_per_point_min}–{ratios.people_per_point_max}人；"
        f"采样人员 = 人口 ÷ {ratios.people_per_staff}；"
        f"每个采样台服务{ratios.people_per_table_min}–{ratios.people_per_table_max}人"
        f"（依据：{ratios.source}）"
    )


def _ordered_points(plan: Plan) -> Iterator[PlannedPoint]:
    """Points by district, street, community code, then point number (the plan's own order
    within a community, which stays right past P99 where the code's text order would not)."""
    communities = sorted(
        plan.communities,
        key=lambda c: (c.community.district, c.community.street, c.community.code),
    )
    for community_plan in communities:
        yield from community_plan.points


def _write_table(sheet: Worksheet, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = BOLD
    for row in rows:
        sheet.append(safe_row(_local(v) if isinstance(v, datetime) else v for v in row))
        for cell, value in zip(sheet[sheet.max_row], row, strict=True):
            if isinstance(value, datetime):
                cell.number_format = TIME_FORMAT
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    for index, header in enumerate(headers, start=1):
        width = max(
            [_display_width(header)] + [_display_width(_shown(row[index - 1])) for row in rows]
        )
        sheet.column_dimensions[get_column_letter(index)].width = width + 2


def _local(instant: datetime) -> datetime:
    # openpyxl cannot store an aware datetime: store the local wall time, naive.
    return instant.astimezone(LOCAL_TZ).replace(tzinfo=None)


def _local_text(instant: datetime) -> str:
    return instant.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _shown(value: Cell) -> str:
    return _local_text(value) if isinstance(value, datetime) else str(value)


def _display_width(text: str) -> int:
    # Excel's column width counts Latin characters; a Chinese character takes about two.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
