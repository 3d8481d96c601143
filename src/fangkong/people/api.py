"""HTTP API of the people and places registry."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["people"])
