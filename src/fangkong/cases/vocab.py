"""Classification, origin and how a case was found (发现途径): codes and labels.

Codes are English (API, files, database); labels are Chinese (UI, bulletin). Every reader
of outside input accepts either.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


class Classification(StrEnum):
    confirmed = "confirmed"
    asymptomatic = "asymptomatic"


class Origin(StrEnum):
    local = "local"
    abroad = "abroad"
    other_province = "other_province"


class FoundVia(StrEnum):
    quarantine_site = "quarantine_site"
    home_isolation = "home_isolation"
    home_monitoring = "home_monitoring"
    sealed_zone_screening = "sealed_zone_screening"
    controlled_zone_screening = "controlled_zone_screening"
    community_screening = "community_screening"
    fever_clinic = "fever_clinic"
    walk_in = "walk_in"
    arrival_test = "arrival_test"


CLASSIFICATION_LABELS = {
    Classification.confirmed: "确诊",
    Classification.asymptomatic: "无症状",
}
ORIGIN_LABELS = {
    Origin.local: "本土",
    Origin.abroad: "境外输入",
    Origin.other_province: "外省输入",
}
FOUND_VIA_LABELS = {
    FoundVia.quarantine_site: "集中隔离点",
    FoundVia.home_isolation: "居家隔离",
    FoundVia.home_monitoring: "居家健康监测",
    FoundVia.sealed_zone_screening: "封控区筛查",
    FoundVia.controlled_zone_screening: "管控区筛查",
    FoundVia.community_screening: "社会面筛查",
    FoundVia.fever_clinic: "发热门诊",
    FoundVia.walk_in: "主动就诊",
    FoundVia.arrival_test: "入境/落地检",
}

# Other spellings seen in sources and spreadsheets.
_ALIASES: dict[str, str] = {
    "确诊病例": "confirmed",
    "无症状感染者": "asymptomatic",
    "外省市输入": "other_province",
    "外省(市)输入": "other_province",
    "外省（市）输入": "other_province",
    "境外": "abroad",
    "外省": "other_province",
    "落地检": "arrival_test",
    "入境": "arrival_test",
    "入境检测": "arrival_test",
}


def parse_code(kind: type[E], labels: dict[E, str], value: str) -> E:
    """The enum member for a code or a label; ``ValueError`` names the accepted values."""
    text = value.strip()
    text = _ALIASES.get(text, text)
    for member in kind:
        if text == member.value or text == labels[member]:
            return member
    accepted = ", ".join(f"{m.value}/{labels[m]}" for m in kind)
    raise ValueError(f"{value!r} is not one of {accepted}")
