"""Imports every domain's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from fangkong.auth import models as auth_models
from fangkong.cases import models as cases_models
from fangkong.monitoring import models as monitoring_models
from fangkong.people import models as people_models
from fangkong.quarantine import models as quarantine_models
from fangkong.testing import models as testing_models
from fangkong.tracing import models as tracing_models
from fangkong.zones import models as zones_models

__all__ = [
    "auth_models",
    "cases_models",
    "monitoring_models",
    "people_models",
    "quarantine_models",
    "testing_models",
    "tracing_models",
    "zones_models",
]
