"""Policy editions: every one loads, overlays merge over their base, bad editions fail clearly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fangkong.errors import InvalidInput
from fangkong.policy import Policy, RuleRef, available_editions, load_policy, loader

EDITIONS = ["measures-20", "national-8", "national-9", "zibo-2022-03"]


def test_available_editions() -> None:
    assert available_editions() == EDITIONS


@pytest.mark.parametrize("name", EDITIONS)
def test_every_edition_loads(name: str) -> None:
    policy = load_policy(name)
    assert isinstance(policy, Policy)
    assert policy.edition == name
    assert policy.title
    assert policy.published[:4] == "2021" or policy.published[:4] == "2022"
    rules = policy.community
    assert rules.zero_streak_days >= 1
    assert rules.stable_control_days >= 1
    assert rules.stable_control_below >= 1
    assert "quarantine_site" in rules.under_control_channels
    assert "community_screening" not in rules.under_control_channels
    assert policy.rule("community.stable_control") == RuleRef(
        edition=name, rule="community.stable_control"
    )
    assert str(policy.rule("x.y")) == f"{name}:x.y"


def test_overlays_name_their_base_and_keep_their_own_title() -> None:
    zibo, national8 = load_policy("zibo-2022-03"), load_policy("national-8")
    assert zibo.base == "national-8"
    assert zibo.title != national8.title
    assert zibo.published == "2022-03-23"
    assert zibo.community == national8.community
    measures = load_policy("measures-20")
    assert measures.base == "national-9"
    assert measures.published == "2022-11-11"
    assert measures.community == load_policy("national-9").community


def test_policy_is_frozen() -> None:
    policy = load_policy("national-9")
    with pytest.raises(ValueError, match="frozen"):
        policy.community.zero_streak_days = 5  # type: ignore[misc]


def test_unknown_edition_is_a_clear_invalid_input() -> None:
    with pytest.raises(InvalidInput) as err:
        load_policy("national-10")
    assert "unknown policy edition 'national-10'" in err.value.message
    assert "national-9" in err.value.message  # names the available ones
    assert err.value.details == {"edition": "national-10"}


@pytest.fixture
def editions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(loader, "EDITIONS", tmp_path)
    loader.load_policy.cache_clear()
    yield tmp_path
    loader.load_policy.cache_clear()


def write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.toml").write_text(text, encoding="utf-8")


def test_overlay_merges_section_by_section(editions: Path) -> None:
    write(
        editions,
        "base",
        'title = "B"\npublished = "2022-01-01"\n[community]\n'
        "zero_streak_days = 7\nstable_control_days = 4\nstable_control_below = 20\n",
    )
    write(
        editions,
        "city",
        'title = "C"\npublished = "2022-02-02"\nbase = "base"\n[community]\n'
        "stable_control_below = 5\n",
    )
    write(editions, "town", 'title = "T"\npublished = "2022-03-03"\nbase = "city"\n')
    city = load_policy("city")
    assert (city.title, city.published, city.base, city.edition) == (
        "C",
        "2022-02-02",
        "base",
        "city",
    )
    assert (city.community.zero_streak_days, city.community.stable_control_days) == (7, 4)
    assert city.community.stable_control_below == 5
    town = load_policy("town")
    assert town.community == city.community
    assert (town.base, town.edition, town.title) == ("city", "town", "T")
    assert available_editions() == ["base", "city", "town"]


def test_a_cycle_of_bases_is_detected(editions: Path) -> None:
    write(editions, "a", 'title = "A"\npublished = "2022"\nbase = "b"\n')
    write(editions, "b", 'title = "B"\npublished = "2022"\nbase = "c"\n')
    write(editions, "c", 'title = "C"\npublished = "2022"\nbase = "a"\n')
    with pytest.raises(InvalidInput, match="cycle: a -> b -> c -> a"):
        load_policy("a")


def test_an_edition_based_on_itself_is_a_cycle(editions: Path) -> None:
    write(editions, "self", 'title = "S"\npublished = "2022"\nbase = "self"\n')
    with pytest.raises(InvalidInput, match="cycle"):
        load_policy("self")


def test_a_missing_base_is_named(editions: Path) -> None:
    write(editions, "orphan", 'title = "O"\npublished = "2022"\nbase = "gone"\n')
    with pytest.raises(InvalidInput, match="unknown policy edition 'gone'"):
        load_policy("orphan")


def test_a_misspelt_rule_is_refused(editions: Path) -> None:
    write(editions, "typo", 'title = "T"\npublished = "2022"\n[community]\nzero_streak_dayz = 3\n')
    with pytest.raises(ValueError, match="zero_streak_dayz"):
        load_policy("typo")


def test_out_of_range_value_is_refused(editions: Path) -> None:
    write(editions, "zero", 'title = "Z"\npublished = "2022"\n[community]\nzero_streak_days = 0\n')
    with pytest.raises(ValueError, match="zero_streak_days"):
        load_policy("zero")
