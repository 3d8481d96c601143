"""Self-report links: issued once and kept only as a keyed hash, expiring with the home
monitoring, one live link per order, refused with a stable code when invalid, expired or
revoked (including when the order turned into a case)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.service import Keys
from fangkong.errors import FangkongError, InvalidInput
from fangkong.monitoring import links, service
from fangkong.monitoring.models import MonitoringLink
from fangkong.quarantine.models import QuarantineOrder
from fangkong.quarantine.status import OrderStatus
from fangkong.quarantine.transitions import change_status
from tests.monitoring.test_service import local, make_order, make_person

KEYS = Keys("link-test-key-0123456789")
NOW = local(20)
# Home monitoring of the test order runs 23–29 March: the link dies at midnight after it.
END = datetime(2022, 3, 29, 16, 0, tzinfo=UTC)


@pytest.fixture
def order(session: Session) -> QuarantineOrder:
    return make_order(session, make_person(session, "P100"))


def issue(session: Session, order: QuarantineOrder, **kw: object) -> links.Issued:
    return links.issue(session, order=order, keys=KEYS, now=NOW, created_by="worker", **kw)  # type: ignore[arg-type]


def refused(session: Session, raw: str, now: datetime = NOW, keys: Keys = KEYS) -> str:
    with pytest.raises(FangkongError) as error:
        links.resolve(session, raw=raw, keys=keys, now=now)
    return error.value.code


def test_a_link_is_shown_once_and_stored_as_a_keyed_hash(
    session: Session, order: QuarantineOrder
) -> None:
    issued = issue(session, order)
    assert issued.path == f"/m/{issued.raw}"
    stored = session.scalars(select(MonitoringLink)).one()
    assert stored.prefix == issued.raw[:8]
    assert stored.token_hash == KEYS.digest(issued.raw) != issued.raw
    assert issued.raw not in (stored.token_hash, stored.prefix)
    assert stored.expires_at == END
    link, found = links.resolve(session, raw=issued.raw, keys=KEYS, now=NOW)
    assert (link.id, found.id) == (stored.id, order.id)
    assert link.last_used_at == NOW


def test_a_ttl_shortens_a_link_but_never_lengthens_it(
    session: Session, order: QuarantineOrder
) -> None:
    assert issue(session, order, ttl=timedelta(hours=2)).link.expires_at == NOW + timedelta(hours=2)
    assert issue(session, order, ttl=timedelta(days=20)).link.expires_at == END
    with pytest.raises(InvalidInput):
        issue(session, order, ttl=timedelta(days=31))


def test_invalid_links_are_refused(session: Session, order: QuarantineOrder) -> None:
    issued = issue(session, order)
    assert refused(session, "nonsense") == "link_invalid"
    assert refused(session, issued.raw[:-1] + ("A" if issued.raw[-1] != "A" else "B")) == (
        "link_invalid"
    )
    assert refused(session, issued.raw, keys=Keys("another-key-0123456789")) == "link_invalid"


def test_a_link_expires_at_midnight_after_the_last_home_day(
    session: Session, order: QuarantineOrder
) -> None:
    issued = issue(session, order)
    links.resolve(session, raw=issued.raw, keys=KEYS, now=END - timedelta(seconds=1))
    assert refused(session, issued.raw, now=END) == "link_expired"


def test_issuing_again_revokes_the_previous_link(session: Session, order: QuarantineOrder) -> None:
    old = issue(session, order)
    new = issue(session, order)
    assert refused(session, old.raw) == "link_revoked"
    assert links.resolve(session, raw=new.raw, keys=KEYS, now=NOW)[1].id == order.id
    live = session.scalars(select(MonitoringLink).where(MonitoringLink.revoked_at.is_(None))).all()
    assert [link.id for link in live] == [new.link.id]


def test_a_revoked_link_is_refused(session: Session, order: QuarantineOrder) -> None:
    issued = issue(session, order)
    assert service.revoke_links(session, order_id=order.id, now=NOW) == 1
    assert refused(session, issued.raw) == "link_revoked"
    assert service.revoke_links(session, order_id=order.id, now=NOW) == 0


def test_an_order_turned_into_a_case_or_ended_refuses_its_link(
    session: Session, order: QuarantineOrder
) -> None:
    issued = issue(session, order)
    change_status(order, OrderStatus.converted, at=NOW, by="cdc", why="阳性，转为病例")
    session.flush()
    assert refused(session, issued.raw) == "link_revoked"

    other = make_order(session, make_person(session, "P101"))
    issued = issue(session, other)
    change_status(other, OrderStatus.completed, at=NOW, by="worker", why="期满")
    session.flush()
    assert refused(session, issued.raw) == "link_expired"
    with pytest.raises(links.OrderNotActive) as error:
        issue(session, other)
    assert error.value.code == "order_not_active"


def test_a_link_needs_monitoring_still_ahead(session: Session) -> None:
    over = make_order(session, make_person(session, "P102"), start=date(2022, 3, 1))
    with pytest.raises(links.OrderNotActive):
        issue(session, over)  # its home monitoring ended on 21 March


def test_links_survive_a_key_rotation(session: Session, order: QuarantineOrder) -> None:
    issued = issue(session, order)
    rotated = Keys("a-brand-new-key-0123456789", previous=(KEYS.current,))
    assert links.resolve(session, raw=issued.raw, keys=rotated, now=NOW)[1].id == order.id
