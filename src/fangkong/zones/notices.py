"""Notices from the stored zones: which zones a notice of a kind names on a day, and its
text and Word file.

- ``draw``: zones that took effect that day (confirmed), at the level they were drawn;
- ``adjust``: zones whose level changed that day (a downgrade), from → to, at 0时;
- ``lift``: zones lifted that day (not those replaced by a severer zone), at 0时.

``codes`` narrows a notice to some zones. A notice names its zones' edition.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time
from itertools import pairwise

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from sqlalchemy.orm import Session, selectinload

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import LOCAL_TZ
from fangkong.errors import InvalidInput, NotFound
from fangkong.policy import load_policy
from fangkong.regions import service as regions
from fangkong.zones import records
from fangkong.zones.models import RiskZone
from fangkong.zones.notice import KINDS, Notice, NoticeItem, paragraphs


class NothingToNotice(NotFound):
    code = "nothing_to_notice"


def issuer_of(city_name: str) -> str:
    return f"{city_name}疫情防控指挥部办公室"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


def _item(zone: RiskZone, kind: str, day: date, county: str | None) -> NoticeItem | None:
    periods = sorted(zone.periods, key=lambda p: p.starts_on)
    if kind == "draw":
        if zone.effective_at is None or records.local_day(zone.effective_at) != day:
            return None
        first = periods[0] if periods else None
        level = first.level if first else zone.level
        return NoticeItem(zone.name, level, zone.effective_at, level == county)
    if kind == "adjust":
        for before, after in pairwise(periods):
            if after.starts_on == day and after.downgraded:
                return NoticeItem(
                    zone.name, before.level, _midnight(day), before.level == county, after.level
                )
        return None
    last = zone.events[-1] if zone.events else None
    if zone.status != "lifted" or last is None or last.action != "lifted" or not periods:
        return None
    if periods[-1].ends_on != day:
        return None
    return NoticeItem(zone.name, periods[-1].level, _midnight(day), periods[-1].level == county)


def notice(
    session: Session,
    *,
    kind: str,
    day: date,
    scope: Jurisdiction,
    city_code: str,
    codes: Sequence[str] | None = None,
    issuer: str | None = None,
) -> Notice:
    """The notice of ``kind`` for ``day`` over the zones of the city in ``scope``."""
    if kind not in KINDS:
        raise InvalidInput(f"notice kind: one of {', '.join(KINDS)}", field="kind")
    zones = [
        z
        for z in records.list_zones(
            session,
            flt=records.ZoneFilter(city_code=city_code),
            scope=scope,
            limit=100_000,
            options=(selectinload(RiskZone.periods), selectinload(RiskZone.events)),
        )
        if z.status != "proposed" and z.status != "rejected" and (not codes or z.code in codes)
    ]
    items: list[NoticeItem] = []
    editions: set[str] = set()
    for zone in zones:
        county = load_policy(zone.edition).zones.county
        found = _item(zone, kind, day, county)
        if found is not None:
            items.append(found)
            editions.add(zone.edition)
    if not items:
        raise NothingToNotice(
            f"no zone to {KINDS[kind]} on {day.isoformat()}", kind=kind, day=day.isoformat()
        )
    if len(editions) > 1:
        raise InvalidInput(
            "the zones were drawn under different editions: give codes of one edition",
            field="codes",
        )
    city_name = regions.city(city_code).name
    return Notice(
        kind=kind,
        city_name=city_name,
        edition_title=load_policy(editions.pop()).title,
        issuer=issuer or issuer_of(city_name),
        day=day,
        items=tuple(items),
    )


def render_docx(text: str) -> bytes:
    """A notice as Word: the title centred and bold, the body indented, the issuer and
    date right-aligned (as the bulletin's Word file, in 仿宋)."""
    lines = paragraphs(text)
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "FangSong"
    style.font.size = Pt(16)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(lines[0])
    run.bold = True
    run.font.size = Pt(22)
    for line in lines[1:-2]:
        body = document.add_paragraph(line)
        body.paragraph_format.first_line_indent = Pt(32)
    for line in lines[-2:]:
        document.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
