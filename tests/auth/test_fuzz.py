"""Schemathesis against the OpenAPI schema: no generated request may produce a 5xx.

Bounded: a few examples per operation, derandomized, so the run is repeatable and stays
within a minute on two cores. Each request carries a valid token: the city CDC for the
domain routes, the administrator for users, tokens and the audit log.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

ADMIN_PATHS = ("/api/v1/users", "/api/v1/tokens", "/api/v1/audit")
EXAMPLES = 6


def test_no_server_errors(app: FastAPI, tokens: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    sent: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        persona = "admin" if operation.path.startswith(ADMIN_PATHS) else "cdc"
        fuzz(operation, {"Authorization": f"Bearer {tokens[persona]}"}, failures, sent)
    assert operations > 30
    assert len(sent) >= 2 * operations  # the generator really exercised the operations
    assert any(status < 300 for status in sent)  # and some requests were valid ones
    assert not failures, "\n".join(failures)


def fuzz(operation: Any, headers: dict[str, str], failures: list[str], sent: list[int]) -> None:
    """Send generated requests to one operation; record every 5xx."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
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
