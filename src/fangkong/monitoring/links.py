"""Self-report links (自报链接): a person under home monitoring reports without an account.

The link's secret is random and shown once; the store keeps its prefix (to name it) and an
HMAC of it keyed like API tokens (``auth.service.Keys``), so a leaked database yields no
working link. A link belongs to one order and so to one person: whoever holds it reads and
writes that order only. It expires at local midnight after the order's last home stage
(or sooner, with a TTL); issuing a new one revokes the old; converting the order to a case
revokes it (``flows/positives.py``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.service import Keys
from fangkong.errors import Conflict, FangkongError, InvalidInput
from fangkong.monitoring.models import MonitoringLink
from fangkong.monitoring.rules import end_of_day
from fangkong.monitoring.service import revoke_links
from fangkong.quarantine import service as quarantine
from fangkong.quarantine.stages import last_home_day
from fangkong.quarantine.status import ACTIVE, OrderStatus

if TYPE_CHECKING:
    from fangkong.quarantine.models import QuarantineOrder

PAGE_PATH = "/m/"
# ``<8 hex>_<43 url-safe>``: anything else is refused before any hashing or query.
_SHAPE = re.compile(r"^[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")
MAX_TTL = timedelta(days=30)


class LinkInvalid(FangkongError):
    code = "link_invalid"
    status = 404


class LinkExpired(FangkongError):
    code = "link_expired"
    status = 410


class LinkRevoked(FangkongError):
    code = "link_revoked"
    status = 410


class OrderNotActive(Conflict):
    code = "order_not_active"


@dataclass(frozen=True)
class Issued:
    raw: str  # shown once, never stored
    link: MonitoringLink

    @property
    def path(self) -> str:
        return page_path(self.raw)


def page_path(raw: str) -> str:
    return f"{PAGE_PATH}{raw}"


def expiry(order: QuarantineOrder, *, now: datetime, ttl: timedelta | None = None) -> datetime:
    """Local midnight after the order's last home stage day, or ``now + ttl`` when that is
    sooner (a link never outlives the monitoring it is for)."""
    last = last_home_day(order)
    end = end_of_day(last) if last is not None else None
    if ttl is not None:
        if not timedelta(minutes=5) <= ttl <= MAX_TTL:
            raise InvalidInput("a link lives between 5 minutes and 30 days", field="ttl")
        end = min(end, now + ttl) if end is not None else now + ttl
    if end is None:
        raise InvalidInput(
            f"order {order.order_no} has no home stage: give the link a TTL",
            order_no=order.order_no,
        )
    if end <= now:
        raise OrderNotActive(
            f"the home monitoring of order {order.order_no} is over", order_no=order.order_no
        )
    return end


def issue(
    session: Session,
    *,
    order: QuarantineOrder,
    keys: Keys,
    now: datetime,
    created_by: str,
    ttl: timedelta | None = None,
) -> Issued:
    """A new link for an active order, revoking the one before it (one live link each)."""
    if order.status not in {s.value for s in ACTIVE}:
        raise OrderNotActive(f"order {order.order_no} is {order.status}", order_no=order.order_no)
    expires_at = expiry(order, now=now, ttl=ttl)
    revoke_links(session, order_id=order.id, now=now)
    prefix = secrets.token_hex(4)
    raw = f"{prefix}_{secrets.token_urlsafe(32)}"
    link = MonitoringLink(
        order_id=order.id,
        prefix=prefix,
        token_hash=keys.digest(raw),
        expires_at=expires_at,
        created_by=created_by[:64],
        created_at=now,
    )
    session.add(link)
    session.flush()
    return Issued(raw, link)


def resolve(
    session: Session, *, raw: str, keys: Keys, now: datetime
) -> tuple[MonitoringLink, QuarantineOrder]:
    """The link and its order, or ``link_invalid`` / ``link_expired`` / ``link_revoked``.

    An order converted to a case reads as revoked; one completed (or otherwise ended) as
    expired: either way the person has nothing left to report."""
    if not _SHAPE.match(raw):
        raise LinkInvalid("链接无效 (this link is not valid)")
    link = session.scalar(
        select(MonitoringLink).where(MonitoringLink.token_hash.in_(keys.candidates(raw)))
    )
    if link is None:
        raise LinkInvalid("链接无效 (this link is not valid)")
    order = quarantine.order_by_id(session, link.order_id)
    if link.revoked_at is not None or order.status == OrderStatus.converted.value:
        raise LinkRevoked("链接已失效，请联系社区工作人员 (this link was revoked)")
    if link.expires_at <= now or order.status not in {s.value for s in ACTIVE}:
        raise LinkExpired("健康监测已结束，链接已过期 (this link has expired)")
    # Written at most once a minute, so that reading a page does not turn into writes.
    if link.last_used_at is None or now - link.last_used_at > timedelta(minutes=1):
        link.last_used_at = now
    return link, order
