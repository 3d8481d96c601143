"""Users, passwords, lock-out, sessions, tokens and the append-only audit log (service)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth import audit, service
from fangkong.auth.models import AuditEvent, User
from fangkong.auth.principal import Unauthenticated
from fangkong.config import Settings
from fangkong.errors import Conflict, InvalidInput, NotFound
from tests.conftest import NOW, SECRET

SETTINGS = Settings(secret_key=SECRET, login_max_failures=3, login_lock_minutes=15)
KEYS = service.Keys(SECRET)


def make_user(session: Session, name: str = "zc_officer", **kw: str) -> User:
    values = {"role_code": "district_officer", "scope_kind": "district", "scope_code": "周村区"}
    values.update(kw)
    return service.create_user(
        session, username=name, password="a long password 1", now=NOW, **values
    )


def test_binding_is_resolved_and_checked_against_the_role(session: Session) -> None:
    user = make_user(session)
    assert user.scope_code == "370306"  # the name became the GB/T 2260 code
    with pytest.raises(InvalidInput, match="bound to one of"):
        make_user(session, "x1", scope_kind="city", scope_code="3703")
    with pytest.raises(InvalidInput):
        make_user(session, "x2", scope_code="不存在区")
    with pytest.raises(Conflict):
        make_user(session)


def test_password_rules(session: Session) -> None:
    with pytest.raises(InvalidInput, match="at least"):
        service.create_user(
            session,
            username="u1",
            password="short",
            role_code="admin",
            scope_kind="city",
            scope_code="3703",
            now=NOW,
        )
    with pytest.raises(InvalidInput, match="user name"):
        service.create_user(
            session,
            username="wangwu",
            password="wangwu-password",
            role_code="admin",
            scope_kind="city",
            scope_code="3703",
            now=NOW,
        )
    with pytest.raises(InvalidInput, match="tokens only"):
        service.create_user(
            session,
            username="dev1",
            password="a long password 1",
            role_code="venue_device",
            scope_kind="venue",
            scope_code="V1",
            now=NOW,
        )


def test_password_is_hashed_with_argon2(session: Session) -> None:
    user = make_user(session)
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "a long password 1" not in user.password_hash


def test_lock_out_after_repeated_failures_then_unlock(session: Session) -> None:
    make_user(session)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            service.authenticate(
                session, username="zc_officer", password="wrong", now=NOW, settings=SETTINGS
            )
    with pytest.raises(service.AccountLocked):
        # even the right password is refused while locked
        service.authenticate(
            session,
            username="zc_officer",
            password="a long password 1",
            now=NOW + timedelta(minutes=1),
            settings=SETTINGS,
        )
    later = NOW + timedelta(minutes=16)
    user = service.authenticate(
        session, username="zc_officer", password="a long password 1", now=later, settings=SETTINGS
    )
    assert user.failed_logins == 0
    outcomes = session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "login").order_by(AuditEvent.id)
    ).all()
    assert outcomes == ["denied", "denied", "denied", "locked", "ok"]


def test_unknown_and_disabled_users_get_the_same_answer(session: Session) -> None:
    make_user(session)
    service.disable_user(session, username="zc_officer")
    for name in ("zc_officer", "nobody"):
        with pytest.raises(Unauthenticated, match="用户名或密码错误"):
            service.authenticate(
                session, username=name, password="a long password 1", now=NOW, settings=SETTINGS
            )


def test_sessions_expire_and_end_and_store_only_a_hash(session: Session) -> None:
    user = make_user(session)
    raw, web = service.start_session(session, user=user, now=NOW, keys=KEYS, hours=12)
    assert raw not in web.session_hash
    assert service.resolve_session(session, raw=raw, now=NOW, keys=KEYS) is not None
    assert (
        service.resolve_session(session, raw=raw, now=NOW + timedelta(hours=13), keys=KEYS) is None
    )
    assert service.resolve_session(session, raw=raw + "x", now=NOW, keys=KEYS) is None
    service.end_session(session, raw=raw, keys=KEYS)
    assert service.resolve_session(session, raw=raw, now=NOW, keys=KEYS) is None


def test_password_change_signs_out_other_sessions(session: Session) -> None:
    user = make_user(session)
    raw1, web1 = service.start_session(session, user=user, now=NOW, keys=KEYS, hours=12)
    raw2, _ = service.start_session(session, user=user, now=NOW, keys=KEYS, hours=12)
    with pytest.raises(Unauthenticated):
        service.change_password(
            session, user=user, old="wrong", new="another long one 2", now=NOW, keep_session=web1.id
        )
    service.change_password(
        session,
        user=user,
        old="a long password 1",
        new="another long one 2",
        now=NOW,
        keep_session=web1.id,
    )
    assert service.resolve_session(session, raw=raw1, now=NOW, keys=KEYS) is not None
    assert service.resolve_session(session, raw=raw2, now=NOW, keys=KEYS) is None


def test_tokens_scoped_expiring_revocable(session: Session) -> None:
    raw, token = service.create_token(
        session,
        name="lab-1",
        role_code="cdc",
        scope_kind="city",
        scope_code="3703",
        now=NOW,
        keys=KEYS,
        created_by="t",
        days=30,
        permissions={"cases.read"},
    )
    assert raw.startswith(f"fk_{token.prefix}_")
    assert raw not in token.token_hash
    found = service.resolve_token(session, raw=raw, now=NOW, keys=KEYS)
    assert found is not None
    principal = service.principal_for_token(session, found, ip=None)
    assert principal.permissions == frozenset({"cases.read"})
    assert service.resolve_token(session, raw=raw, now=NOW + timedelta(days=31), keys=KEYS) is None
    service.revoke_token(session, prefix=token.prefix, now=NOW)
    assert service.resolve_token(session, raw=raw, now=NOW, keys=KEYS) is None
    with pytest.raises(NotFound):
        service.revoke_token(session, prefix="nope", now=NOW)
    with pytest.raises(InvalidInput, match="not the role's"):
        service.create_token(
            session,
            name="x",
            role_code="lab",
            scope_kind="lab",
            scope_code="L1",
            now=NOW,
            keys=KEYS,
            created_by="t",
            permissions={"cases.read"},
        )


def test_rotated_key_still_verifies_old_tokens(session: Session) -> None:
    raw, _ = service.create_token(
        session,
        name="old",
        role_code="lab",
        scope_kind="lab",
        scope_code="L1",
        now=NOW,
        keys=service.Keys("the old secret key 0123"),
        created_by="t",
    )
    rotated = service.Keys("the new secret key 4567", ("the old secret key 0123",))
    assert service.resolve_token(session, raw=raw, now=NOW, keys=rotated) is not None
    assert (
        service.resolve_token(
            session, raw=raw, now=NOW, keys=service.Keys("the new secret key 4567")
        )
        is None
    )


def test_audit_log_is_append_only(session: Session) -> None:
    entry = audit.record(session, principal=None, action="export", now=NOW, reason="weekly")
    session.flush()
    entry.reason = "something else"
    with pytest.raises(audit.AuditLogIsAppendOnly):
        session.flush()
    session.rollback()
    entry = audit.record(session, principal=None, action="export", now=NOW, reason="weekly")
    session.flush()
    session.delete(entry)
    with pytest.raises(audit.AuditLogIsAppendOnly):
        session.flush()
    session.rollback()


def test_placeholder_secret_is_refused_outside_the_demo() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        Settings().check_secret()
    with pytest.raises(ValueError, match="16"):
        Settings(secret_key="short").check_secret()
    Settings(demo=True).check_secret()
    Settings(secret_key=SECRET).check_secret()
