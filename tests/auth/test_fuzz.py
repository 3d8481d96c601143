"""Schemathesis against the OpenAPI schema: no generated request may produce a 5xx.

Bounded: a few examples per operation (``FANGKONG_FUZZ_EXAMPLES``, 6 by default; CI asks
for more), derandomized, so the run is repeatable; past a time box
(``FANGKONG_FUZZ_SECONDS``) the remaining operations get the minimum, so every operation is
still exercised. Each request carries a valid token: the city CDC for the
domain routes, the administrator for users, tokens and the audit log.
"""

from __future__ import annotations

import os
import time
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

ADMIN_PATHS = ("/api/v1/users", "/api/v1/tokens", "/api/v1/audit")
EXAMPLES = int(os.environ.get("FANGKONG_FUZZ_EXAMPLES", "6"))
SECONDS = float(os.environ.get("FANGKONG_FUZZ_SECONDS", "300"))
MINIMUM = 3


def test_no_server_errors(app: FastAPI, tokens: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    sent: list[int] = []
    operations = 0
    deadline = time.monotonic() + SECONDS
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        persona = "admin" if operation.path.startswith(ADMIN_PATHS) else "cdc"
        examples = EXAMPLES if time.monotonic() < deadline else MINIMUM
        headers = {"Authorization": f"Bearer {tokens[persona]}"}
        fuzz(operation, headers, failures, sent, examples)
    assert operations > 30
    assert len(sent) >= 2 * operations  # the generator really exercised the operations
    assert any(status < 300 for status in sent)  # and some requests were valid ones
    assert not failures, "\n".join(failures)


def fuzz(
    operation: Any, headers: dict[str, str], failures: list[str], sent: list[int], examples: int
) -> None:
    """Send generated requests to one operation; record every 5xx."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        sent.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.text[:300]}")

    check()
