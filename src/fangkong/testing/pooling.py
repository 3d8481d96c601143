"""Pooled sampling (混采): expected tests, the pool size to use, decoding results, simulation.

Swabs of several people go into one tube at sampling (RULES §5: 5-, 10- and 20-in-1 are
validated; 1 is a single tube, 单采). A negative tube clears everyone in it. A positive pool
makes every member *pool positive*; because the swabs were mixed at sampling, there is
nothing left in the lab to split, so resolving it means sampling the members again: by
single tube (two stages, Dorfman), or first in smaller pools and then single tubes (three
stages). "Tests" below are tubes the lab runs, re-sampled ones included.

Everything here is pure (stdlib only) and assumes a perfect test: a tube is positive exactly
when at least one of its swabs is, and every person is infected independently with the
area's recent positivity ``p``.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

VALIDATED_SIZES: tuple[int, ...] = (1, 5, 10, 20)
"""Pool sizes a lab may use (RULES §5); 1 is a single tube."""


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"positivity p must be between 0 and 1, got {p!r}")


def _check_size(n: int, what: str = "pool size") -> None:
    if n < 1:
        raise ValueError(f"{what} must be at least 1, got {n!r}")


def _positive(n: int, p: float) -> float:
    """P(a tube of ``n`` swabs is positive) = 1 - (1-p)**n, accurate for tiny ``p`` too."""
    if p == 1.0:
        return 1.0  # log1p(-1) is a domain error, not -inf
    return -math.expm1(n * math.log1p(-p))


def _sub_pools(n1: int, n2: int) -> list[int]:
    """Sizes of the sub-pools a pool of ``n1`` splits into: ``n2`` each, the last smaller."""
    full, rest = divmod(n1, n2)
    return [n2] * full + ([rest] if rest else [])


def expected_tests_per_person(n: int, p: float) -> float:
    """Dorfman's two stages: a pool of ``n``, then every member of a positive pool singly.

    Per person that is ``1/n + 1 - (1-p)**n``; a single tube (``n == 1``) costs exactly 1.
    """
    _check_size(n)
    _check_p(p)
    if n == 1:
        return 1.0
    return 1.0 / n + _positive(n, p)


def expected_tests_three_stage(n1: int, n2: int, p: float) -> float:
    """Three stages: a pool of ``n1``; a positive pool's members re-sampled in sub-pools of
    ``n2``; a positive sub-pool's members re-sampled singly.

    The pool splits into ``k = ceil(n1 / n2)`` sub-pools of sizes ``m_j`` (all ``n2`` but the
    last, which holds the ``n1 % n2`` left over when that is not 0). Since a sub-pool can only
    be positive inside a positive pool, per pool::

        E[tests] = 1 + (1 - (1-p)**n1) * k + sum over j with m_j > 1 of (1 - (1-p)**m_j) * m_j

    A sub-pool of one is already a single tube, so it needs no third-stage test. The result
    is per person: ``E[tests] / n1``. Nothing is inferred from the other sub-pools' results
    (a last sub-pool is tested even when all the others came back negative), as in practice.
    """
    _check_p(p)
    if n1 < 2:
        raise ValueError(f"a three-stage first pool must hold at least 2 people, got {n1!r}")
    if not 1 <= n2 < n1:
        raise ValueError(f"sub-pool size must be between 1 and {n1 - 1}, got {n2!r}")
    subs = _sub_pools(n1, n2)
    tests = 1.0 + _positive(n1, p) * len(subs)
    tests += sum(_positive(m, p) * m for m in subs if m > 1)
    return tests / n1


def optimal_pool_size(p: float, allowed: Sequence[int] | None = None, max_size: int = 100) -> int:
    """The two-stage pool size with the fewest expected tests per person at positivity ``p``.

    ``allowed=None`` searches every size from 1 to ``max_size``. Ties go to the smaller size:
    the same number of tests with fewer people recalled when a pool is positive.
    """
    _check_p(p)
    if allowed is None:
        _check_size(max_size, "max_size")
        sizes = list(range(1, max_size + 1))
    else:
        if not allowed:
            raise ValueError("allowed pool sizes must not be empty")
        for n in allowed:
            _check_size(n)
        sizes = sorted(set(allowed))
    # min() keeps the first of equal costs, and sizes ascend.
    return min(sizes, key=lambda n: expected_tests_per_person(n, p))


@dataclass(frozen=True)
class PoolingScheme:
    """How a round pools: ``(n,)`` is two stages (pools of ``n``, then single tubes);
    ``(n1, n2)`` is three stages (pools of ``n1``, sub-pools of ``n2``, single tubes)."""

    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.sizes) == 1:
            _check_size(self.sizes[0])
        elif len(self.sizes) == 2:
            n1, n2 = self.sizes
            # A sub-pool of 1 or of the whole pool adds a stage that decides nothing new.
            if not 1 < n2 < n1:
                raise ValueError(f"three stages need 1 < n2 < n1, got {self.sizes!r}")
        else:
            raise ValueError(f"a scheme has one or two pool sizes, got {self.sizes!r}")

    @property
    def stages(self) -> int:
        """Sampling stages in the worst case, the single-tube one included."""
        return 1 if self.sizes == (1,) else len(self.sizes) + 1

    @property
    def label(self) -> str:
        if self.sizes == (1,):
            return "single tube"
        return ", then ".join(f"{n}-in-1" for n in self.sizes)

    def expected_tests(self, p: float) -> float:
        """Expected tests per person at positivity ``p``."""
        if len(self.sizes) == 1:
            return expected_tests_per_person(self.sizes[0], p)
        return expected_tests_three_stage(self.sizes[0], self.sizes[1], p)


def choose_scheme(
    p: float, allowed: Sequence[int] = VALIDATED_SIZES, three_stage: bool = False
) -> PoolingScheme:
    """The scheme with the fewest expected tests per person at positivity ``p``.

    Two stages use the best size among ``allowed``. With ``three_stage``, every pair
    ``n2 < n1`` from ``allowed`` (``n2 > 1``) is also considered, and three stages win only
    when they strictly save tests: the third stage costs those recalled another sampling
    visit and another lab turnaround. Being a minimum over ``allowed``, the choice is never
    worse than any fixed size in ``allowed`` (10-in-1 included).
    """
    two = optimal_pool_size(p, allowed)
    best = PoolingScheme((two,))
    if not three_stage:
        return best
    best_tests = best.expected_tests(p)
    sizes = sorted(set(allowed))
    for n1 in sizes:
        for n2 in sizes:
            if 1 < n2 < n1:
                tests = expected_tests_three_stage(n1, n2, p)
                if tests < best_tests:
                    best, best_tests = PoolingScheme((n1, n2)), tests
    return best


def entropy_floor(p: float) -> float:
    """``H(p)``: no scheme that finds every positive can average fewer tests per person.

    Each test answers yes or no, so identifying an infection pattern of entropy ``N·H(p)``
    bits takes at least that many tests on average (Shannon's source-coding bound).
    """
    _check_p(p)
    if p in (0.0, 1.0):
        return 0.0
    return -p * math.log2(p) - (1.0 - p) * math.log2(1.0 - p)


# ---------------------------------------------------------------- decoding


class PoolResult(StrEnum):
    negative = "negative"
    positive = "positive"
    invalid = "invalid"  # the lab could not read the tube


class MemberState(StrEnum):
    cleared = "cleared"
    pool_positive = "pool_positive"  # yellow code until a single tube sampled later is negative
    positive = "positive"
    retest = "retest"  # sample again: the tube could not be read


def decode_pool(result: PoolResult, members: Sequence[str]) -> dict[str, MemberState]:
    """What one tube's result means for each person whose swab is in it."""
    if not members:
        raise ValueError("a tube has at least one member")
    if result is PoolResult.negative:
        state = MemberState.cleared
    elif result is PoolResult.invalid:
        state = MemberState.retest
    elif len(members) == 1:
        state = MemberState.positive
    else:
        state = MemberState.pool_positive
    return dict.fromkeys(members, state)


TubeRecord = tuple[datetime, int, PoolResult | None]
"""One of a person's tubes in a round: when sampled, how many swabs in it, its result
(``None`` while pending)."""


def person_state(results: Sequence[TubeRecord]) -> MemberState | None:
    """A person's state in a round from all their tubes; what counts is when each tube was
    sampled, not the order of ``results``.

    - a positive single tube, whenever sampled, makes the person positive;
    - otherwise a positive pool keeps them pool positive until a tube sampled after the
      latest positive pool, and smaller than it, comes back negative: a single tube
      (单采复核), or in three stages a smaller pool of fresh swabs (a 20-pool's members
      re-sampled in 5-pools). A later pool of the same size or larger does not clear: that
      is not a re-sample of the positive pool but another pooling of the kind that failed;
    - otherwise an invalid tube with no tube sampled after it asks for a retest (one already
      re-sampled is pending, not a retest);
    - otherwise any negative clears them; with only pending tubes (or none) the state is
      ``None``.
    """
    for _at, size, _result in results:
        _check_size(size, "tube size")
    if any(size == 1 and result is PoolResult.positive for _at, size, result in results):
        return MemberState.positive
    pool_positives = [(at, size) for at, size, result in results if result is PoolResult.positive]
    if pool_positives:
        last = max(at for at, _size in pool_positives)
        pool = min(size for at, size in pool_positives if at == last)
        if not any(
            result is PoolResult.negative and at > last and size < pool
            for at, size, result in results
        ):
            return MemberState.pool_positive
    if results:
        latest = max(at for at, _size, _result in results)
        if any(at == latest and r is PoolResult.invalid for at, _size, r in results):
            return MemberState.retest
    if any(result is PoolResult.negative for _at, _size, result in results):
        return MemberState.cleared
    return None


# ---------------------------------------------------------------- simulation


@dataclass(frozen=True)
class SimulatedRound:
    """Tubes a simulated round used, stage by stage, and the positives it found."""

    population: int
    scheme: PoolingScheme
    infected: int
    positive_pools: int
    stage_tests: tuple[int, ...]  # first-stage tubes, then each re-sampling stage
    positives_found: int

    @property
    def tests(self) -> int:
        return sum(self.stage_tests)

    @property
    def tests_per_person(self) -> float:
        return self.tests / self.population


def _infected_positions(population: int, p: float, rng: random.Random) -> list[int]:
    """Indices of the infected, each person independently with probability ``p``.

    The gap before the next infected person is geometric, ``floor(log(u) / log(1-p))`` for
    ``u`` uniform on (0, 1], so the cost is one draw per infected person rather than one per
    person: a million people at 0.01 % positivity take about a hundred draws.
    """
    if p == 0.0:
        return []
    if p == 1.0:
        return list(range(population))
    log_q = math.log1p(-p)
    positions: list[int] = []
    at = -1
    while True:
        at += 1 + math.floor(math.log(1.0 - rng.random()) / log_q)
        if at >= population:
            return positions
        positions.append(at)


def simulate_round(population: int, p: float, scheme: PoolingScheme, seed: int) -> SimulatedRound:
    """Pool ``population`` people in order under ``scheme`` and count the tubes used.

    Infections are drawn with ``random.Random(seed)`` (see ``_infected_positions``). The last
    pool may be smaller than the others; a pool (or sub-pool) of one is a single tube and
    needs no re-sampling. The test is taken as perfect, so the positives found must equal the
    infected; they are counted from the tubes of the last stage to check the bookkeeping.
    """
    _check_size(population, "population")
    _check_p(p)
    rng = random.Random(seed)
    infected = _infected_positions(population, p, rng)
    n1 = scheme.sizes[0]
    pools = -(-population // n1)
    by_pool = Counter(at // n1 for at in infected)

    def pool_size(pool: int) -> int:
        return min(n1, population - pool * n1)

    if n1 == 1:
        return SimulatedRound(
            population, scheme, len(infected), len(by_pool), (pools,), len(by_pool)
        )
    if len(scheme.sizes) == 1:
        singles = sum(pool_size(pool) for pool in by_pool)
        # Every infected member of a positive pool shows up in its single tube.
        found = sum(by_pool.values())
        return SimulatedRound(
            population, scheme, len(infected), len(by_pool), (pools, singles), found
        )
    n2 = scheme.sizes[1]
    sub_tubes = sum(len(_sub_pools(pool_size(pool), n2)) for pool in by_pool)
    by_sub = Counter((at // n1, (at % n1) // n2) for at in infected)
    singles = 0
    found = 0
    for (pool, sub), positives in by_sub.items():
        size = min(n2, pool_size(pool) - sub * n2)
        if size > 1:
            singles += size
        found += positives
    return SimulatedRound(
        population, scheme, len(infected), len(by_pool), (pools, sub_tubes, singles), found
    )
