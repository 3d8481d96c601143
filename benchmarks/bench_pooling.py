"""Tests a round of mass testing uses: fangkong's pool size vs fixed 10-in-1 vs the floor.

The claim (RULES §5): choosing the pool size per area from the lab's
validated sizes (1, 5, 10, 20) at the area's recent positivity never uses more tests than a
fixed 10-in-1 scheme, the choice is the size with the fewest expected tests (checked against
a brute-force argmin), and allowing a third stage (sub-pools before single tubes) saves
further tests where it is chosen. Every scheme stays above the information-theoretic floor
H(p) tests per person.

    python benchmarks/bench_pooling.py [--population 1000000] [--seed 2022]

For each prevalence, one round of ``--population`` people is simulated per scheme with the
same seed (so the same people are infected), counting the tubes of every stage, re-sampled
ones included. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime

from fangkong.testing.pooling import (
    VALIDATED_SIZES,
    PoolingScheme,
    SimulatedRound,
    choose_scheme,
    entropy_floor,
    expected_tests_per_person,
    simulate_round,
)

PREVALENCES = (0.0001, 0.001, 0.01, 0.05)
FIXED_10 = PoolingScheme((10,))


def _memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _run(scheme: PoolingScheme, p: float, population: int, seed: int) -> dict[str, object]:
    t = time.perf_counter()
    round_: SimulatedRound = simulate_round(population, p, scheme, seed)
    seconds = time.perf_counter() - t
    assert round_.positives_found == round_.infected, "a positive was missed"
    return {
        "scheme": scheme.label,
        "sizes": list(scheme.sizes),
        "expected_tests_per_person": round(scheme.expected_tests(p), 6),
        "simulated_tests_per_person": round(round_.tests_per_person, 6),
        "stage_tests": list(round_.stage_tests),
        "infected": round_.infected,
        "simulate_ms": round(seconds * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()

    rows = []
    for p in PREVALENCES:
        two = choose_scheme(p, VALIDATED_SIZES, three_stage=False)
        three = choose_scheme(p, VALIDATED_SIZES, three_stage=True)
        fixed_tests = FIXED_10.expected_tests(p)
        argmin = min(sorted(VALIDATED_SIZES), key=lambda n, p=p: expected_tests_per_person(n, p))
        rows.append(
            {
                "prevalence": p,
                "entropy_floor": round(entropy_floor(p), 6),
                "fixed_10_in_1": _run(FIXED_10, p, args.population, args.seed),
                "chosen_two_stage": _run(two, p, args.population, args.seed),
                "chosen_three_stage_allowed": _run(three, p, args.population, args.seed),
                "never_worse_than_fixed_10": two.expected_tests(p) <= fixed_tests
                and three.expected_tests(p) <= fixed_tests,
                "matches_optimum_over_allowed": two.sizes == (argmin,),
            }
        )
    print(
        json.dumps(
            {
                "benchmark": "pooling",
                "population": args.population,
                "seed": args.seed,
                "allowed_sizes": list(VALIDATED_SIZES),
                "prevalences": rows,
                "machine": {
                    "arch": platform.machine(),
                    "cpus": os.cpu_count(),
                    "memory_gib": round(_memory_gib(), 1),
                    "python": platform.python_version(),
                },
                "date": datetime.now(UTC).date().isoformat(),
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
