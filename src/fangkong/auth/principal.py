"""Who is asking: a signed-in user or an API token, with permissions and jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.permissions import ROLES
from fangkong.errors import FangkongError


class Forbidden(FangkongError):
    code = "forbidden"
    status = 403


class OutsideJurisdiction(Forbidden):
    """Writing a record whose place lies outside the caller's area. (Reading one answers
    404 instead, so that its existence is not revealed.)"""

    code = "outside_jurisdiction"


class Unauthenticated(FangkongError):
    code = "unauthenticated"
    status = 401


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "token"
    name: str
    role: str
    permissions: frozenset[str]
    jurisdiction: Jurisdiction
    user_id: int | None = None
    token_id: int | None = None
    ip: str | None = None
    csrf_token: str | None = None

    @property
    def role_label(self) -> str:
        return ROLES[self.role].label

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(
                f"{self.name} ({self.role_label}) lacks the permission {permission!r}",
                permission=permission,
            )
