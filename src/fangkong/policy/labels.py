"""Rule references said for people: ``zibo-2022-03:quarantine.fever_celsius`` is shown as
"淄博3月方案·发热标准", the reference itself kept for the curious (a page's hover)."""

from __future__ import annotations

EDITIONS = {
    "national-8": "第八版方案",
    "national-9": "第九版方案",
    "measures-20": "二十条",
    "zibo-2022-03": "淄博3月方案",
}
RULES = {
    "community.zero_streak_days": "社会面清零标准",
    "community.zero_streak": "社会面清零标准",
    "community.stable_control": "稳定控制期标准",
    "quarantine.fever_celsius": "发热标准",
    "quarantine.symptoms": "症状标准",
    "testing.round": "全员核酸检测要求",
    "testing.quarantine_round": "隔离点核酸检测要求",
    "testing.routine_groups": "重点人群检测频次",
    "tracing.identify_general": "一般接触者判定",
    "tracing.identify_secondary": "次密接判定",
    "tracing.lookback_days": "流调追溯天数",
    "tracing.min_overlap_minutes": "时空交集判定",
}
SECTIONS = {
    "community": "社会面判定",
    "quarantine": "隔离管控措施",
    "testing": "核酸检测要求",
    "tracing": "密接判定",
    "monitoring": "健康监测要求",
}


def rule_label(reference: str) -> str:
    """The short Chinese name of ``edition:section.rule`` (or of ``section.rule``)."""
    edition, _, rule = reference.rpartition(":")
    name = RULES.get(rule) or SECTIONS.get(rule.split(".")[0]) or "规则"
    if rule.startswith("tracing.") and rule.endswith("_is_close"):
        name = "密接判定"
    elif rule.startswith("quarantine.") and rule not in RULES:
        name = "隔离管控措施"
    book = EDITIONS.get(edition, edition)
    return f"{book}·{name}" if book else name
