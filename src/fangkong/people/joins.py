"""The registry's persons and their address hierarchy, as other domains may join them.

The one exception to "a domain touches another only through its service"
(docs/architecture.md): a day's orders, a round's population due or a contact list is a
set-based query over thousands of persons, and a join to the person's address is what makes
it one query instead of thousands of look-ups. Other domains import the mapped classes from
here — never from ``people.models`` (import-linter holds that) — and only read them: no
domain but people inserts, updates or deletes these rows (``tests/test_layering.py``).
Jurisdiction over persons is ``people.access.person_scope``.
"""

from fangkong.people.models import (
    Building,
    Community,
    Compound,
    Household,
    Person,
    Workplace,
    WorkplaceUnit,
)

__all__ = [
    "Building",
    "Community",
    "Compound",
    "Household",
    "Person",
    "Workplace",
    "WorkplaceUnit",
]
