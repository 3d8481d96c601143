"""What every GET route shows of a person: the registry the PII walker holds the app to.

A new GET route fails ``test_pii_routes.py`` until it is declared here, and its
declaration is checked against what it answers on the demo-like store:

- ``NONE``: nothing personal below the compound (figures, sites, rounds, places);
- ``MASKED``: persons, always masked (names, ID numbers, phones masked, no building or
  room) whoever asks; ``evidence`` says the body must show a masked ID number or phone of
  the store, so that the route is known to list persons at all;
- ``FULL``: masked for callers without ``person.pii.read``; for callers with it, asked
  with ``unmask``, unmasked and each read written to the audit log;
- ``OWN``: a person's own self-report link, its token the only credential: not walked.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shows:
    kind: str  # none | masked | full | own
    query: str = ""  # what the route needs to answer 200 on the store
    unmask: str = ""  # FULL: what asks for the unmasked body
    evidence: bool = False  # MASKED/FULL: the masked body shows a masked ID number or phone


NONE = Shows("none")
OWN = Shows("own")


def masked(query: str = "", *, evidence: bool = True) -> Shows:
    return Shows("masked", query=query, evidence=evidence)


def full(unmask: str = "", query: str = "", *, evidence: bool = False) -> Shows:
    return Shows("full", query=query, unmask=unmask, evidence=evidence)


REASON = "reason=walker"

ROUTES: dict[str, Shows] = {
    # auth
    "/login": NONE,
    "/account/password": NONE,
    "/admin/audit": NONE,
    "/admin/users": NONE,
    "/api/v1/auth/me": NONE,
    "/api/v1/users": NONE,
    "/api/v1/tokens": NONE,
    "/api/v1/audit": NONE,
    "/api/v1/audit.csv": Shows("none", query=REASON),
    # ops, reference
    "/healthz": NONE,
    "/readyz": NONE,
    "/api/v1/docs": NONE,
    "/api/v1/regions/cities": NONE,
    "/api/v1/regions/districts/{district}/streets": NONE,
    "/api/v1/regions/{city}/boundaries": NONE,
    "/api/v1/regions/{city}/districts": NONE,
    "/api/v1/regions/{city}/units": NONE,
    # cases
    "/": NONE,
    "/api/v1/stats/daily": NONE,
    "/api/v1/stats/units": NONE,
    "/api/v1/bulletin": Shows("none", query="day=2022-03-21"),
    "/api/v1/bulletin.docx": Shows("none", query="day=2022-03-21"),
    "/api/v1/cases": masked(),
    "/api/v1/cases.csv": masked(REASON),
    "/api/v1/cases/{case_no}": full(evidence=True),
    "/cases": masked(),
    "/cases/new": NONE,
    "/cases/{case_no}": full(evidence=True),
    # people
    "/api/v1/people": masked(),
    "/api/v1/people.csv": masked(REASON),
    "/api/v1/people/{person_no}": full(evidence=True),
    "/api/v1/households/{household_no}": full(evidence=True),
    "/api/v1/venues": NONE,
    "/api/v1/venues/{venue_code}": NONE,
    "/api/v1/workplaces": NONE,
    "/api/v1/workplaces/{workplace_no}": NONE,
    "/people": masked(),
    "/people/{person_no}": full(evidence=True),
    "/venues": NONE,
    "/workplaces": NONE,
    # tracing
    "/api/v1/cases/{case_no}/contacts": masked(),
    "/api/v1/cases/{case_no}/visits": NONE,
    "/api/v1/clusters": NONE,
    "/api/v1/contacts.csv": Shows("none", query=REASON),  # person numbers only
    "/cases/{case_no}/contacts": masked(),
    "/clusters": NONE,
    "/clusters/{first_case_no}": masked(evidence=False),
    "/venues/{venue_code}/exposures": masked(evidence=False),
    "/venues/{venue_code}/notice": NONE,
    # scans
    "/api/v1/scans/stats": NONE,
    # testing
    "/testing": NONE,
    "/testing/rounds/{code}": NONE,
    "/testing/rounds/{code}/lists/{which}": masked(),
    "/testing/routine": NONE,
    "/api/v1/testing/rounds": NONE,
    "/api/v1/testing/rounds/{code}": NONE,
    "/api/v1/testing/rounds/{code}/coverage": NONE,
    "/api/v1/testing/rounds/{code}/lists/{which}": full("full=true", evidence=True),
    "/api/v1/testing/rounds/{code}/lists/{which}.xlsx": full(query=REASON, evidence=True),
    "/api/v1/testing/rounds/{code}/plan.xlsx": NONE,
    "/api/v1/testing/rounds/{code}/points": NONE,
    "/api/v1/testing/rounds/{code}/progress": NONE,
    "/api/v1/testing/rounds/{code}/turnaround": NONE,
    "/api/v1/testing/routine/compliance": NONE,
    # quarantine
    "/quarantine": masked(evidence=False),
    "/quarantine/orders": masked(evidence=False),
    "/quarantine/orders/{order_no}": masked(evidence=False),
    "/quarantine/sites/{code}": masked(evidence=False),
    "/api/v1/quarantine/board": NONE,
    "/api/v1/quarantine/sites": NONE,
    "/api/v1/quarantine/sites/{code}": NONE,
    "/api/v1/quarantine/sites/{code}/tests": masked(evidence=False),
    "/api/v1/quarantine/orders": masked(evidence=False),
    "/api/v1/quarantine/orders/{order_no}": full("full=true"),
    "/api/v1/quarantine/people/{person_no}/orders": masked(evidence=False),
    "/api/v1/quarantine/transfers": full("full=true", query="status=done"),
    "/api/v1/quarantine/tests/overdue": masked(evidence=False),
    "/api/v1/quarantine/communities/{community_id}/tests": masked(evidence=False),
    # monitoring
    "/monitoring": full("full=1", query="community_id={community_id}&day=2022-03-23"),
    "/api/v1/monitoring/tasks": masked(evidence=False),
    "/api/v1/monitoring/worklist": full(
        "full=true", query="community_id={community_id}&day=2022-03-23", evidence=True
    ),
    "/api/v1/monitoring/self/{token}": OWN,
    "/m/{token}": OWN,
    # the search box, the register form's person picker, the lab
    "/search": masked("q={case_no}", evidence=False),
    "/api/v1/search": masked("q={case_no}", evidence=False),
    "/cases/new/persons": masked("q={case_no}", evidence=False),
    "/lab": NONE,
    # zones: places and figures; the residents of a zone are personal
    "/zones": NONE,
    "/zones/reopening": NONE,
    "/zones/{code}": masked(evidence=False),
    "/api/v1/zones": NONE,
    "/api/v1/zones/feed.csv": NONE,
    "/api/v1/zones/feed.geojson": NONE,
    "/api/v1/zones/feed.json": NONE,
    "/api/v1/zones/notice": Shows("none", query="kind=draw&day={zone_day}"),
    "/api/v1/zones/notice.docx": Shows("none", query="kind=draw&day={zone_day}"),
    "/api/v1/zones/reopening": NONE,
    "/api/v1/zones/reopening/{decision}": NONE,
    "/api/v1/zones/reopening/venues/{venue_code}": NONE,
    "/api/v1/zones/reopening/workplaces/{workplace_no}": NONE,
    "/api/v1/zones/status/address": Shows("none", query="district={district}"),
    "/api/v1/zones/status/persons": Shows("none", query="ids={person_id}"),
    "/api/v1/zones/status/venues": Shows("none", query="codes={venue_code}"),
    "/api/v1/zones/status/workplaces": Shows("none", query="nos={workplace_no}"),
    "/api/v1/zones/{code}": NONE,
    "/api/v1/zones/{code}/countdown": NONE,
    "/api/v1/zones/{code}/places": NONE,
    "/api/v1/zones/{code}/residents": full("full=true", evidence=True),
}
