"""HTTP API of mass testing (``/api/v1/testing``): rounds, sampling points and their plan,
exemptions; samples and lab results; coverage and the person lists; routine testing."""

from fastapi import APIRouter

from fangkong.testing.api import lists, rounds, routine, samples

router = APIRouter(prefix="/testing", tags=["testing"])
for part in (rounds, samples, lists, routine):
    router.include_router(part.router)
