"""The daily bulletin (疫情通报) in the official form: a pure function of the day's facts.

Grammar (RULES §8, docs/bulletin.md): up to five sentences joined with no space —
new local cases; imported cases (only when there are any); conversions (only when there
are any); corrections (核减、订正, only when there are any); totals. Full-width
punctuation throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fangkong.cases.vocab import FoundVia, Origin
from fangkong.clock import chinese_day

FOUND_VIA_PHRASES = {
    FoundVia.quarantine_site: "为集中隔离点的隔离人员",
    FoundVia.home_isolation: "为居家隔离人员",
    FoundVia.home_monitoring: "为居家健康监测人员",
    FoundVia.sealed_zone_screening: "为封控区筛查发现",
    FoundVia.controlled_zone_screening: "为管控区筛查发现",
    FoundVia.community_screening: "为社会面筛查发现",
    FoundVia.fever_clinic: "为发热门诊检出",
    FoundVia.walk_in: "为主动就诊检出",
    FoundVia.arrival_test: "为落地检发现",
}

IMPORTED_LABELS = {Origin.abroad: "境外输入", Origin.other_province: "外省市输入"}


@dataclass(frozen=True)
class UnitFigure:
    """A count in one reporting unit; ``order`` is its division-code order (ties)."""

    name: str
    order: int
    count: int


@dataclass(frozen=True)
class ImportedFigures:
    origin: Origin
    confirmed: int
    asymptomatic: int
    units: tuple[UnitFigure, ...] = ()


@dataclass(frozen=True)
class Corrections:
    """The local cases voided (核减) or corrected (订正) on the day, by reporting unit, counted
    by what they were (a converted case as confirmed)."""

    voided_confirmed: tuple[UnitFigure, ...] = ()
    voided_asymptomatic: tuple[UnitFigure, ...] = ()
    corrected: tuple[UnitFigure, ...] = ()


@dataclass(frozen=True)
class BulletinFacts:
    city_name: str
    day: date
    new_confirmed: int
    new_asymptomatic: int
    new_units: tuple[UnitFigure, ...]
    total_confirmed: int
    total_asymptomatic: int
    single_found_via: FoundVia | None = None
    conversions: tuple[UnitFigure, ...] = ()
    imported: tuple[ImportedFigures, ...] = field(default=())
    since: date | None = None
    corrections: Corrections = field(default_factory=Corrections)


def _ranked(units: tuple[UnitFigure, ...]) -> list[UnitFigure]:
    return sorted((u for u in units if u.count > 0), key=lambda u: (-u.count, u.order))


def _where(units: tuple[UnitFigure, ...], total: int) -> str:
    """``，在X`` for one case, ``，均在X`` for several in one unit, else ``，其中X n例、…``."""
    ranked = _ranked(units)
    if not ranked:
        return ""
    if total == 1:
        return f"，在{ranked[0].name}"
    if len(ranked) == 1:
        return f"，均在{ranked[0].name}"
    return "，其中" + "、".join(f"{u.name}{u.count}例" for u in ranked)


def _parts(prefix: str, confirmed: int, asymptomatic: int) -> str:
    parts = []
    if confirmed:
        parts.append(f"{prefix}确诊病例{confirmed}例")
    if asymptomatic:
        parts.append(f"{prefix}无症状感染者{asymptomatic}例")
    return "、".join(parts)


def new_cases_sentence(facts: BulletinFacts) -> str:
    head = f"{chinese_day(facts.day)}0时至24时，{facts.city_name}"
    total = facts.new_confirmed + facts.new_asymptomatic
    if total == 0:
        return f"{head}无新增本土确诊病例和无症状感染者。"
    detail = _where(facts.new_units, total)
    if total == 1 and facts.single_found_via is not None:
        detail += f"，{FOUND_VIA_PHRASES[facts.single_found_via]}"
    parts = _parts("本土", facts.new_confirmed, facts.new_asymptomatic)
    return f"{head}报告新增{parts}{detail}。"


def imported_sentence(facts: BulletinFacts) -> str:
    groups = []
    for group in facts.imported:
        total = group.confirmed + group.asymptomatic
        if total:
            label = IMPORTED_LABELS[group.origin]
            parts = _parts(label, group.confirmed, group.asymptomatic)
            groups.append(parts + _where(group.units, total))
    if not groups:
        return ""
    return f"{facts.city_name}另报告新增" + "；".join(groups) + "。"


def conversions_sentence(facts: BulletinFacts) -> str:
    total = sum(u.count for u in facts.conversions)
    if not total:
        return ""
    ranked = _ranked(facts.conversions)
    where = f"，在{ranked[0].name}" if len(ranked) == 1 else _where(facts.conversions, total)
    return f"{facts.city_name}报告本土无症状感染者转为确诊病例{total}例{where}。"


def corrections_sentence(facts: BulletinFacts) -> str:
    """``{市}核减既往报告的本土无症状感染者1例，在周村区；订正既往报告病例1例，在淄川区。``
    only when cases were voided or corrected that day; the totals that follow count them."""
    fixes = facts.corrections
    parts = []
    confirmed = sum(u.count for u in fixes.voided_confirmed)
    asymptomatic = sum(u.count for u in fixes.voided_asymptomatic)
    if confirmed + asymptomatic:
        units: dict[tuple[str, int], int] = {}
        for u in (*fixes.voided_confirmed, *fixes.voided_asymptomatic):
            units[(u.name, u.order)] = units.get((u.name, u.order), 0) + u.count
        where = tuple(UnitFigure(name, order, n) for (name, order), n in units.items())
        kinds = _parts("本土", confirmed, asymptomatic)
        parts.append(f"核减既往报告的{kinds}{_where(where, confirmed + asymptomatic)}")
    corrected = sum(u.count for u in fixes.corrected)
    if corrected:
        parts.append(f"订正既往报告病例{corrected}例{_where(fixes.corrected, corrected)}")
    if not parts:
        return ""
    return f"{facts.city_name}" + "；".join(parts) + "。"


def totals_sentence(facts: BulletinFacts) -> str:
    figures = f"本土确诊病例{facts.total_confirmed}例、本土无症状感染者{facts.total_asymptomatic}例"
    end = f"{chinese_day(facts.day)}24时"
    if facts.since is None:
        return f"截至{end}，{facts.city_name}{figures}。"
    start = chinese_day(facts.since)
    if facts.since.year != facts.day.year:
        start = f"{facts.since.year}年{start}"
        end = f"{facts.day.year}年{end}"
    return f"自{start}至{end}，{facts.city_name}累计报告{figures}。"


def compose(facts: BulletinFacts) -> str:
    """The day's bulletin text, exactly as published."""
    return "".join(
        (
            new_cases_sentence(facts),
            imported_sentence(facts),
            conversions_sentence(facts),
            corrections_sentence(facts),
            totals_sentence(facts),
        )
    )
