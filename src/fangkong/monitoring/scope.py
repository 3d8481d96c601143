"""Which monitoring tasks a jurisdiction sees: a task carries its person's home area (copied
from the order when raised), so the community's lists are cut without reading the order.
A site's staff see none: monitoring happens at home."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.scope import Reach
from fangkong.monitoring.models import MonitoringTask

TASKS = Reach(
    district=MonitoringTask.district_code,
    street=MonitoringTask.street_code,
    community=MonitoringTask.community_id,
    placeless_in_city=True,
)


def task_conditions(scope: Jurisdiction) -> ColumnElement[bool]:
    return TASKS.condition(scope)
