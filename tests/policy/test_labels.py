"""Rule references are said in Chinese on pages, the reference itself on hover."""

from __future__ import annotations

from fangkong.policy.labels import rule_label
from fangkong.web.templating import beijing, rule


def test_a_rule_reference_has_a_short_chinese_label() -> None:
    assert rule_label("zibo-2022-03:quarantine.fever_celsius") == "淄博3月方案·发热标准"
    assert rule_label("national-9:tracing.household_is_close") == "第九版方案·密接判定"
    assert rule_label("national-9:community.zero_streak_days") == "第九版方案·社会面清零标准"
    assert rule_label("quarantine.close") == "隔离管控措施"


def test_the_page_shows_the_label_and_keeps_the_reference_on_hover() -> None:
    shown = str(rule("zibo-2022-03:quarantine.fever_celsius"))
    assert shown == (
        '<abbr class="rule-ref" title="zibo-2022-03:quarantine.fever_celsius">'
        "淄博3月方案·发热标准</abbr>"
    )
    assert str(rule("")) == ""


def test_times_on_pages_are_beijing_times() -> None:
    from datetime import UTC, datetime

    assert beijing(datetime(2022, 3, 23, 13, 0, tzinfo=UTC)) == "2022-03-23 21:00"
    naive = datetime(2022, 3, 23, 13, 0, tzinfo=UTC).replace(tzinfo=None)  # as SQLite gives it
    assert beijing(naive) == "2022-03-23 21:00"
