"""Input and output models of users, tokens, sign-in and the audit log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fangkong.auth.permissions import RoleCode, ScopeKind


class LoginIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "zc_officer", "password": "a long secret"}]},
    )

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class MeRead(BaseModel):
    name: str
    kind: str
    role: str
    role_label: str
    permissions: list[str]
    jurisdiction: str
    jurisdiction_kind: str
    csrf_token: str | None = Field(None, description="Send as X-CSRF-Token with cookie auth.")


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "zc_officer",
                    "password": "correct horse battery",
                    "role": "district_officer",
                    "scope_kind": "district",
                    "scope_code": "周村区",
                    "display_name": "周村区专班",
                }
            ]
        },
    )

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str | None = Field(None, max_length=200)
    role: RoleCode
    scope_kind: ScopeKind
    scope_code: str = Field(min_length=1, max_length=32)
    display_name: str | None = Field(None, max_length=64)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    role: str
    scope_kind: str
    scope_code: str
    is_active: bool
    created_at: datetime


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "zibo-lab-1",
                    "role": "lab",
                    "scope_kind": "lab",
                    "scope_code": "L01",
                    "days": 90,
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=64)
    role: RoleCode
    scope_kind: ScopeKind
    scope_code: str = Field(min_length=1, max_length=32)
    days: int = Field(90, ge=1, le=3660)
    permissions: list[str] | None = Field(None, description="A subset of the role's.")


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    prefix: str
    role: str
    scope_kind: str
    scope_code: str
    permissions: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret, shown once; store it now.")


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    actor_kind: str
    role: str | None
    action: str
    entity_type: str | None
    entity_id: str | None
    fields: str | None
    ip: str | None
    reason: str | None
    outcome: str
    detail: str | None


class AuditPage(BaseModel):
    total: int
    items: list[AuditRead]
