"""Pooling maths: Dorfman and three-stage costs, the size to use, decoding, simulation."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.testing.pooling import (
    VALIDATED_SIZES,
    MemberState,
    PoolingScheme,
    PoolResult,
    TubeRecord,
    choose_scheme,
    decode_pool,
    entropy_floor,
    expected_tests_per_person,
    expected_tests_three_stage,
    optimal_pool_size,
    person_state,
    simulate_round,
)

FIXED_10 = PoolingScheme((10,))
prevalences = st.floats(min_value=1e-5, max_value=0.3)
T0 = datetime(2022, 4, 10, 6, 0, tzinfo=UTC)


# ---------------------------------------------------------------- expected tests


def test_single_tube_costs_one() -> None:
    assert expected_tests_per_person(1, 0.0) == 1.0
    assert expected_tests_per_person(1, 0.3) == 1.0
    assert expected_tests_per_person(1, 1.0) == 1.0


def test_dorfman_spot_value() -> None:
    assert expected_tests_per_person(10, 0.01) == pytest.approx(0.1 + 1 - 0.99**10)
    assert expected_tests_per_person(10, 0.01) == pytest.approx(0.19562, abs=1e-5)


def _brute_force_tests(n1: int, n2: int | None, p: float) -> float:
    """Exact expected tests per person by walking every infection pattern of one pool."""
    total = 0.0
    for pattern in itertools.product((False, True), repeat=n1):
        k = sum(pattern)
        probability = p**k * (1 - p) ** (n1 - k)
        tests = 1
        if any(pattern):
            if n2 is None:
                tests += n1
            else:
                for start in range(0, n1, n2):
                    sub = pattern[start : start + n2]
                    tests += 1
                    if any(sub) and len(sub) > 1:
                        tests += len(sub)
        total += probability * tests
    return total / n1


@pytest.mark.parametrize("n", [2, 5, 8])
@pytest.mark.parametrize("p", [0.01, 0.1, 0.4])
def test_dorfman_against_enumeration(n: int, p: float) -> None:
    assert expected_tests_per_person(n, p) == pytest.approx(_brute_force_tests(n, None, p))


@pytest.mark.parametrize(("n1", "n2"), [(6, 3), (5, 2), (7, 3), (6, 5), (4, 2), (9, 4)])
@pytest.mark.parametrize("p", [0.001, 0.05, 0.3, 0.8])
def test_three_stage_against_enumeration(n1: int, n2: int, p: float) -> None:
    expected = _brute_force_tests(n1, n2, p)
    assert expected_tests_three_stage(n1, n2, p) == pytest.approx(expected, rel=1e-12)


@given(n=st.integers(2, 40), p=st.floats(0.0, 1.0))
def test_sub_pools_of_one_are_the_two_stage_scheme(n: int, p: float) -> None:
    assert expected_tests_three_stage(n, 1, p) == pytest.approx(expected_tests_per_person(n, p))


# ---------------------------------------------------------------- the size to use


@pytest.mark.parametrize(("p", "size"), [(0.01, 11), (0.05, 5), (0.10, 4), (0.35, 1)])
def test_unconstrained_optimum(p: float, size: int) -> None:
    assert optimal_pool_size(p) == size


@pytest.mark.parametrize(("p", "size"), [(0.01, 10), (0.05, 5), (0.10, 5), (0.35, 1)])
def test_optimum_among_validated_sizes(p: float, size: int) -> None:
    assert optimal_pool_size(p, VALIDATED_SIZES) == size
    assert choose_scheme(p, VALIDATED_SIZES, three_stage=False) == PoolingScheme((size,))


def test_ties_go_to_the_smaller_pool() -> None:
    # At p = 1 every size above 1 costs 1/n + 1, so the single tube wins; at p = 0 a pool
    # of n costs 1/n, so the largest wins; an exact tie between two sizes keeps the first.
    assert optimal_pool_size(1.0) == 1
    assert optimal_pool_size(0.0, max_size=30) == 30
    assert optimal_pool_size(0.2, [3, 3, 3]) == 3


@given(p=prevalences, three_stage=st.booleans())
def test_choice_never_worse_than_fixed_10_in_1(p: float, three_stage: bool) -> None:
    chosen = choose_scheme(p, VALIDATED_SIZES, three_stage)
    assert chosen.expected_tests(p) <= FIXED_10.expected_tests(p)


@given(p=prevalences)
def test_choice_is_the_minimum_over_allowed(p: float) -> None:
    chosen = choose_scheme(p, VALIDATED_SIZES).expected_tests(p)
    assert all(chosen <= expected_tests_per_person(n, p) for n in VALIDATED_SIZES)


@given(p=prevalences)
def test_three_stages_only_when_strictly_better(p: float) -> None:
    two = choose_scheme(p, VALIDATED_SIZES, three_stage=False)
    three = choose_scheme(p, VALIDATED_SIZES, three_stage=True)
    if len(three.sizes) == 2:
        assert three.expected_tests(p) < two.expected_tests(p)
        n1, n2 = three.sizes
        assert n1 in VALIDATED_SIZES
        assert n2 in VALIDATED_SIZES
    else:
        assert three == two


def test_three_stages_not_chosen_on_a_tie() -> None:
    # With no one infected, 20-in-1 then 5-in-1 costs 1/20 exactly as 20-in-1 alone.
    assert expected_tests_three_stage(20, 5, 0.0) == expected_tests_per_person(20, 0.0)
    assert choose_scheme(0.0, VALIDATED_SIZES, three_stage=True) == PoolingScheme((20,))


def test_three_stages_save_tests_at_low_positivity() -> None:
    scheme = choose_scheme(0.01, VALIDATED_SIZES, three_stage=True)
    assert scheme == PoolingScheme((20, 5))
    assert scheme.stages == 3
    assert scheme.expected_tests(0.01) < expected_tests_per_person(10, 0.01)


def test_scheme_labels_and_stages() -> None:
    assert PoolingScheme((1,)).label == "single tube"
    assert PoolingScheme((1,)).stages == 1
    assert PoolingScheme((10,)).label == "10-in-1"
    assert PoolingScheme((10,)).stages == 2
    assert PoolingScheme((20, 5)).label == "20-in-1, then 5-in-1"


# ---------------------------------------------------------------- the entropy floor


def test_entropy_values() -> None:
    assert entropy_floor(0.5) == 1.0
    assert entropy_floor(0.0) == 0.0
    assert entropy_floor(1.0) == 0.0
    assert entropy_floor(0.1) == pytest.approx(0.468995593589281)
    assert entropy_floor(0.01) == pytest.approx(entropy_floor(0.99))


@given(p=prevalences, three_stage=st.booleans())
def test_floor_below_the_chosen_scheme(p: float, three_stage: bool) -> None:
    chosen = choose_scheme(p, VALIDATED_SIZES, three_stage)
    assert entropy_floor(p) <= chosen.expected_tests(p)


@given(p=st.floats(0.0, 1.0), n=st.integers(1, 100))
def test_floor_below_every_two_stage_size(p: float, n: int) -> None:
    assert entropy_floor(p) <= expected_tests_per_person(n, p) + 1e-12


# ---------------------------------------------------------------- decoding


def test_decode_pool() -> None:
    members = ["p1", "p2", "p3"]
    assert decode_pool(PoolResult.negative, members) == dict.fromkeys(members, "cleared")
    assert decode_pool(PoolResult.positive, members) == dict.fromkeys(members, "pool_positive")
    assert decode_pool(PoolResult.invalid, members) == dict.fromkeys(members, "retest")
    assert decode_pool(PoolResult.positive, ["p1"]) == {"p1": MemberState.positive}
    assert decode_pool(PoolResult.negative, ["p1"]) == {"p1": MemberState.cleared}


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


NEG, POS, BAD = PoolResult.negative, PoolResult.positive, PoolResult.invalid

PERSON_CASES: list[tuple[str, list[TubeRecord], MemberState | None]] = [
    ("no tubes", [], None),
    ("pending", [(_at(0), 10, None)], None),
    ("pool negative", [(_at(0), 10, NEG)], MemberState.cleared),
    ("pool positive", [(_at(0), 10, POS)], MemberState.pool_positive),
    ("single positive", [(_at(0), 1, POS)], MemberState.positive),
    (
        "pool positive, later single negative",
        [(_at(0), 10, POS), (_at(5), 1, NEG)],
        MemberState.cleared,
    ),
    (
        "pool positive, later single pending",
        [(_at(0), 10, POS), (_at(5), 1, None)],
        MemberState.pool_positive,
    ),
    (
        "pool positive, a smaller pool re-sampled after it negative (three stages)",
        [(_at(0), 10, POS), (_at(5), 5, NEG)],
        MemberState.cleared,
    ),
    (
        "pool positive, a pool as large after it negative: not a re-sample",
        [(_at(0), 10, POS), (_at(5), 10, NEG)],
        MemberState.pool_positive,
    ),
    (
        "20-pool positive, its 5-pool positive too: still pool positive until singles",
        [(_at(0), 20, POS), (_at(5), 5, POS), (_at(9), 10, NEG)],
        MemberState.pool_positive,
    ),
    (
        "three stages down to a negative single",
        [(_at(0), 20, POS), (_at(5), 5, POS), (_at(9), 1, NEG)],
        MemberState.cleared,
    ),
    (
        "single negative before the pool positive",
        [(_at(0), 1, NEG), (_at(5), 10, POS)],
        MemberState.pool_positive,
    ),
    (
        "single positive, later single negative",
        [(_at(0), 1, POS), (_at(5), 1, NEG)],
        MemberState.positive,
    ),
    (
        "pool positive, later single positive",
        [(_at(0), 20, POS), (_at(5), 1, POS)],
        MemberState.positive,
    ),
    (
        "cleared, then a new pool positive",
        [(_at(0), 10, POS), (_at(5), 1, NEG), (_at(24), 10, POS)],
        MemberState.pool_positive,
    ),
    ("invalid", [(_at(0), 10, BAD)], MemberState.retest),
    ("negative, later invalid", [(_at(0), 10, NEG), (_at(5), 10, BAD)], MemberState.retest),
    ("invalid, later negative", [(_at(0), 10, BAD), (_at(5), 1, NEG)], MemberState.cleared),
    ("invalid, re-sampled and pending", [(_at(0), 10, BAD), (_at(5), 10, None)], None),
    (
        "pool positive beats invalid",
        [(_at(0), 10, POS), (_at(5), 1, BAD)],
        MemberState.pool_positive,
    ),
    ("negative, later pending", [(_at(0), 10, NEG), (_at(5), 10, None)], MemberState.cleared),
]


@pytest.mark.parametrize(
    ("tubes", "state"), [case[1:] for case in PERSON_CASES], ids=[c[0] for c in PERSON_CASES]
)
def test_person_state(tubes: list[TubeRecord], state: MemberState | None) -> None:
    assert person_state(tubes) == state
    # The order of the records does not matter, only when each tube was sampled.
    assert person_state(list(reversed(tubes))) == state


# ---------------------------------------------------------------- simulation


def _tolerance(scheme: PoolingScheme, p: float, population: int) -> float:
    """Five standard deviations of the tests per person, bounded from above.

    A pool's tests exceed the first tube only when the pool is positive, and then by at most
    (sub-pools + members), so Var(tests per pool) <= (sub-pools + members)² · P(pool+).
    """
    n1 = scheme.sizes[0]
    extra = n1 + (math.ceil(n1 / scheme.sizes[1]) if len(scheme.sizes) == 2 else 0)
    variance = extra**2 * (1 - (1 - p) ** n1)
    pools = population / n1
    return 5 * math.sqrt(pools * variance) / population


@pytest.mark.parametrize("sizes", [(10,), (5,), (20,), (20, 5), (10, 3), (20, 10)])
@pytest.mark.parametrize("p", [0.002, 0.01, 0.05])
def test_simulation_close_to_expectation(sizes: tuple[int, ...], p: float) -> None:
    population = 200_000
    scheme = PoolingScheme(sizes)
    round_ = simulate_round(population, p, scheme, seed=2022)
    assert round_.positives_found == round_.infected
    assert abs(round_.infected - population * p) < 5 * math.sqrt(population * p * (1 - p))
    assert round_.stage_tests[0] == population // sizes[0]
    assert len(round_.stage_tests) == scheme.stages
    assert abs(round_.tests_per_person - scheme.expected_tests(p)) < _tolerance(
        scheme, p, population
    )


def test_simulation_is_deterministic_per_seed() -> None:
    scheme = PoolingScheme((20, 5))
    first = simulate_round(50_000, 0.02, scheme, seed=7)
    assert simulate_round(50_000, 0.02, scheme, seed=7) == first
    assert simulate_round(50_000, 0.02, scheme, seed=8) != first


def test_simulation_with_a_short_last_pool() -> None:
    # 23 people: pools of 10, 10, 3; everyone infected, so every tube is positive.
    two = simulate_round(23, 1.0, PoolingScheme((10,)), seed=1)
    assert two.stage_tests == (3, 23)
    assert two.positive_pools == 3
    # Pools of 20 and 3; sub-pools 5, 5, 5, 5 and 3; all singles re-sampled.
    three = simulate_round(23, 1.0, PoolingScheme((20, 5)), seed=1)
    assert three.stage_tests == (2, 5, 23)
    assert three.positives_found == 23
    # Sub-pools of 3 in a pool of 10: 3, 3, 3 and a single that needs no third stage.
    ones = simulate_round(10, 1.0, PoolingScheme((10, 3)), seed=1)
    assert ones.stage_tests == (1, 4, 9)
    assert ones.positives_found == 10


def test_simulation_nobody_infected_and_single_tubes() -> None:
    assert simulate_round(1_000, 0.0, PoolingScheme((20, 5)), seed=1).stage_tests == (50, 0, 0)
    singles = simulate_round(1_000, 0.1, PoolingScheme((1,)), seed=1)
    assert singles.stage_tests == (1_000,)
    assert singles.tests_per_person == 1.0
    assert singles.positives_found == singles.infected


def test_geometric_gaps_match_per_person_draws() -> None:
    # The infected count over many small rounds follows Binomial(population, p).
    rng = random.Random(3)
    counts = [
        simulate_round(1_000, 0.03, FIXED_10, seed=rng.randrange(2**32)).infected
        for _ in range(400)
    ]
    mean = sum(counts) / len(counts)
    variance = sum((c - mean) ** 2 for c in counts) / (len(counts) - 1)
    assert mean == pytest.approx(30, abs=5 * math.sqrt(29.1 / 400))
    assert variance == pytest.approx(29.1, rel=0.25)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("p", [-0.01, 1.01, math.nan])
def test_bad_positivity(p: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        expected_tests_per_person(10, p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        expected_tests_three_stage(10, 5, p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        optimal_pool_size(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        entropy_floor(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        simulate_round(100, p, FIXED_10, seed=1)


def test_bad_sizes() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        expected_tests_per_person(0, 0.01)
    with pytest.raises(ValueError, match="at least 2"):
        expected_tests_three_stage(1, 1, 0.01)
    with pytest.raises(ValueError, match="sub-pool size"):
        expected_tests_three_stage(10, 10, 0.01)
    with pytest.raises(ValueError, match="sub-pool size"):
        expected_tests_three_stage(10, 0, 0.01)
    with pytest.raises(ValueError, match="must not be empty"):
        optimal_pool_size(0.01, [])
    with pytest.raises(ValueError, match="at least 1"):
        optimal_pool_size(0.01, [0, 5])
    with pytest.raises(ValueError, match="max_size"):
        optimal_pool_size(0.01, max_size=0)
    for sizes in [(), (0,), (10, 10), (10, 1), (5, 10), (20, 5, 2)]:
        with pytest.raises(ValueError, match=r"scheme|three stages|at least 1"):
            PoolingScheme(sizes)
    with pytest.raises(ValueError, match="population"):
        simulate_round(0, 0.01, FIXED_10, seed=1)
    with pytest.raises(ValueError, match="at least one member"):
        decode_pool(PoolResult.negative, [])
    with pytest.raises(ValueError, match="tube size"):
        person_state([(T0, 0, PoolResult.negative)])
