"""The bulletin as a Word document (python-docx), for offices that publish from Word."""

from __future__ import annotations

import io
from datetime import date

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from fangkong.clock import chinese_day


def render_docx(*, city_name: str, day: date, text: str) -> bytes:
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "FangSong"
    style.font.size = Pt(16)
    # East Asian text takes its font from w:eastAsia, not from the Latin font name.
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(f"{city_name}新冠肺炎疫情情况（{chinese_day(day)}）")
    run.bold = True
    run.font.size = Pt(22)
    body = document.add_paragraph(text)
    body.paragraph_format.first_line_indent = Pt(32)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
