"""Home monitoring's rules (RULES §3), without a database: fever, symptoms, windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fangkong.clock import LOCAL_TZ
from fangkong.errors import InvalidInput
from fangkong.monitoring import rules
from fangkong.policy import load_policy


@pytest.mark.parametrize(("celsius", "fever"), [(36.5, False), (37.2, False), (37.3, True)])
def test_fever_threshold(celsius: float, fever: bool) -> None:
    assert rules.is_fever(celsius, load_policy("zibo-2022-03")) is fever


def test_alerting_symptoms_in_the_editions_order_with_labels() -> None:
    policy = load_policy("national-9")
    found = rules.alerting_symptoms(["diarrhoea", "dry_cough", "fever"], policy)
    assert found == ("fever", "dry_cough", "diarrhoea")
    assert rules.symptom_labels(found) == ("发热", "干咳", "腹泻")
    assert rules.alerting_symptoms([], policy) == ()
    assert rules.SYMPTOMS["loss_of_smell_or_taste"] == "嗅（味）觉减退"
    with pytest.raises(InvalidInput, match="unknown symptom codes: cough"):
        rules.alerting_symptoms(["cough"], policy)


def test_a_symptom_the_edition_does_not_list_raises_no_alert() -> None:
    policy = load_policy("national-9")
    narrower = policy.model_copy(
        update={"quarantine": policy.quarantine.model_copy(update={"symptoms": ("fever",)})}
    )
    assert rules.alerting_symptoms(["fatigue", "fever"], narrower) == ("fever",)


@pytest.mark.parametrize(
    ("hour", "minute", "window"),
    [
        (5, 59, None),
        (6, 0, "morning"),
        (11, 59, "morning"),
        (12, 0, None),
        (18, 0, "evening"),
        (22, 59, "evening"),
        (23, 0, None),
    ],
)
def test_report_windows_by_local_time(hour: int, minute: int, window: str | None) -> None:
    local = datetime(2022, 3, 20, hour, minute, tzinfo=LOCAL_TZ)
    assert rules.report_window(local.astimezone(UTC), load_policy("national-9")) == window


def test_a_naive_report_time_is_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        rules.report_window(datetime(2022, 3, 20, 8), load_policy("national-9"))  # noqa: DTZ001
