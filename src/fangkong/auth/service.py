"""Users, passwords, sign-in sessions and API tokens.

Secrets (session cookies, API tokens) are random; the store keeps only an HMAC of them
keyed with ``FANGKONG_SECRET_KEY`` (old keys in ``FANGKONG_PREVIOUS_SECRET_KEYS`` still
verify, so keys can be rotated without signing everyone out at once).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction, bind
from fangkong.auth.models import ApiToken, User, WebSession
from fangkong.auth.permissions import ROLES, role
from fangkong.auth.principal import Principal, Unauthenticated
from fangkong.config import Settings
from fangkong.errors import Conflict, FangkongError, InvalidInput, NotFound

_hasher = PasswordHasher()
MIN_PASSWORD = 10
TOKEN_PREFIX = "fk_"


class AccountLocked(FangkongError):
    code = "account_locked"
    status = 429


@dataclass(frozen=True)
class Keys:
    current: str
    previous: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        return cls(settings.secret_key, tuple(settings.previous_secret_keys))

    def digest(self, secret: str) -> str:
        return _hmac(self.current, secret)

    def candidates(self, secret: str) -> list[str]:
        return [_hmac(k, secret) for k in (self.current, *self.previous)]


def _hmac(key: str, secret: str) -> str:
    return hmac.new(key.encode(), secret.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- jurisdiction


def jurisdiction_of(kind: str, code: str, street: str | None = None) -> Jurisdiction:
    """The jurisdiction of a stored binding (a community's carries its street)."""
    return bind(kind, code, community_street=street)


def principal_for_user(
    session: Session, user: User, *, ip: str | None = None, csrf: str | None = None
) -> Principal:
    return Principal(
        kind="user",
        name=user.username,
        role=user.role,
        permissions=ROLES[user.role].permissions,
        jurisdiction=jurisdiction_of(user.scope_kind, user.scope_code, user.scope_street),
        user_id=user.id,
        ip=ip,
        csrf_token=csrf,
    )


# ---------------------------------------------------------------- users


def _check_binding(role_code: str, kind: str, code: str, street: str | None) -> str:
    """The binding's canonical code. That a community, site, lab or venue exists is checked
    by the caller (``flows.accounts``): those registries sit above this domain."""
    r = role(role_code)
    if kind not in r.scopes:
        raise InvalidInput(
            f"a {r.label} ({role_code}) is bound to one of {', '.join(r.scopes)}, not {kind!r}",
            scope_kind=kind,
        )
    if kind == "community":
        if street is None or not code.isdigit():
            raise InvalidInput(
                "a community binding needs the community's id and street", scope_code=code
            )
        return code
    if kind in ("site", "lab", "venue"):
        return code
    return jurisdiction_of(kind, code).code


def check_password_strength(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"密码至少需要 {MIN_PASSWORD} 个字符 (the password needs at least {MIN_PASSWORD} "
            "characters)"
        )
    if username.lower() in password.lower():
        raise InvalidInput("密码不能包含用户名 (the password must not contain the user name)")


def create_user(
    session: Session,
    *,
    username: str,
    password: str | None,
    role_code: str,
    scope_kind: str,
    scope_code: str,
    now: datetime,
    display_name: str | None = None,
    scope_street: str | None = None,
) -> User:
    """A user bound to an area, site, lab or venue; a community binding carries the
    community's street (``flows.accounts`` resolves it from the registry)."""
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(
            f"用户 {username} 已存在 (user {username!r} already exists)", username=username
        )
    r = role(role_code)
    if r.token_only and password is not None:
        raise InvalidInput(f"{r.label} ({role_code}) signs in with API tokens only")
    if not r.token_only:
        if password is None:
            raise InvalidInput("a password is required")
        check_password_strength(password, username)
    code = _check_binding(role_code, scope_kind, scope_code, scope_street)
    user = User(
        username=username,
        display_name=display_name or username,
        role=role_code,
        scope_kind=scope_kind,
        scope_code=code,
        scope_street=scope_street if scope_kind == "community" else None,
        password_hash=_hasher.hash(password) if password else None,
        is_active=True,
        failed_logins=0,
        password_changed_at=now if password else None,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, *, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}", username=username)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def disable_user(session: Session, *, username: str) -> User:
    user = get_user(session, username=username)
    user.is_active = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def reset_password(session: Session, *, username: str, new: str, now: datetime) -> User:
    """An administrator sets a new password (a user who forgot theirs): the account is
    unlocked and every session of the user is signed out."""
    user = get_user(session, username=username)
    if user.password_hash is None and role(user.role).token_only:
        raise InvalidInput(f"{user.username} 只能使用 API 令牌，没有密码")
    check_password_strength(new, user.username)
    user.password_hash = _hasher.hash(new)
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    settings: Settings,
    ip: str | None = None,
) -> User:
    """The user for a correct password; a locked account stays locked for a while after
    ``login_max_failures`` wrong passwords. Every attempt is audited."""
    user = session.scalar(select(User).where(User.username == username))
    wrong = Unauthenticated("用户名或密码错误 (wrong user name or password)")
    if user is None or not user.is_active or user.password_hash is None:
        # Spend the same time as a real check, so user names cannot be probed by timing.
        _hasher.hash(password)
        audit.record(
            session,
            principal=None,
            actor=username,
            action="login",
            now=now,
            ip=ip,
            outcome="denied",
        )
        raise wrong
    if user.locked_until is not None and user.locked_until > now:
        audit.record(
            session,
            principal=None,
            actor=username,
            action="login",
            now=now,
            ip=ip,
            outcome="locked",
        )
        raise AccountLocked(
            f"账号已锁定，请于 {user.locked_until.isoformat(timespec='minutes')} 后再试",
            locked_until=user.locked_until.isoformat(),
        )
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        # Counted in the database, not from the value read: attempts made at the same time
        # each count (a read-modify-write would let a burst of guesses count as one).
        user.failed_logins = User.failed_logins + 1
        session.flush()
        session.refresh(user, ["failed_logins"])
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
            user.failed_logins = 0
        audit.record(
            session,
            principal=None,
            actor=username,
            action="login",
            now=now,
            ip=ip,
            outcome="denied",
        )
        raise wrong from None
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    audit.record(session, principal=None, actor=username, action="login", now=now, ip=ip)
    return user


def change_password(
    session: Session, *, user: User, old: str, new: str, now: datetime, keep_session: int | None
) -> None:
    """Change a password; every other session of the user is signed out."""
    if user.password_hash is None:
        raise InvalidInput("this account has no password")
    try:
        _hasher.verify(user.password_hash, old)
    except (VerificationError, InvalidHashError):
        raise Unauthenticated("当前密码错误 (the current password is wrong)") from None
    check_password_strength(new, user.username)
    user.password_hash = _hasher.hash(new)
    user.password_changed_at = now
    query = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session is not None:
        query = query.where(WebSession.id != keep_session)
    session.execute(query)


# ---------------------------------------------------------------- sessions


def start_session(
    session: Session,
    *,
    user: User,
    now: datetime,
    keys: Keys,
    hours: float,
    ip: str | None = None,
) -> tuple[str, WebSession]:
    raw = secrets.token_urlsafe(32)
    web = WebSession(
        session_hash=keys.digest(raw),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        ip=ip,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(web)
    session.flush()
    return raw, web


def resolve_session(
    session: Session, *, raw: str, now: datetime, keys: Keys
) -> tuple[User, WebSession] | None:
    web = session.scalar(
        select(WebSession).where(WebSession.session_hash.in_(keys.candidates(raw)))
    )
    if web is None or web.expires_at <= now:
        return None
    user = session.get(User, web.user_id)
    if user is None or not user.is_active:
        return None
    return user, web


def end_session(session: Session, *, raw: str, keys: Keys) -> None:
    session.execute(delete(WebSession).where(WebSession.session_hash.in_(keys.candidates(raw))))


# ---------------------------------------------------------------- API tokens


def create_token(
    session: Session,
    *,
    name: str,
    role_code: str,
    scope_kind: str,
    scope_code: str,
    now: datetime,
    keys: Keys,
    created_by: str,
    days: int = 90,
    permissions: set[str] | None = None,
    scope_street: str | None = None,
) -> tuple[str, ApiToken]:
    """A new token; the secret is returned once and never stored."""
    r = role(role_code)
    perms = set(r.permissions) if permissions is None else permissions
    if not perms <= r.permissions:
        raise InvalidInput(
            f"permissions {sorted(perms - r.permissions)} are not the role's", role=role_code
        )
    if not 1 <= days <= 3660:
        raise InvalidInput("a token lives between 1 and 3660 days")
    code = _check_binding(role_code, scope_kind, scope_code, scope_street)
    secret = secrets.token_urlsafe(32)
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secret}"
    token = ApiToken(
        name=name,
        prefix=prefix,
        token_hash=keys.digest(raw),
        role=role_code,
        scope_kind=scope_kind,
        scope_code=code,
        scope_street=scope_street if scope_kind == "community" else None,
        permissions=" ".join(sorted(perms)),
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    return raw, token


def resolve_token(session: Session, *, raw: str, now: datetime, keys: Keys) -> ApiToken | None:
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash.in_(keys.candidates(raw))))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    # Written at most once a minute, so a busy device does not turn reads into writes.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token


def principal_for_token(session: Session, token: ApiToken, *, ip: str | None) -> Principal:
    return Principal(
        kind="token",
        name=f"token:{token.name}",
        role=token.role,
        permissions=frozenset(token.permissions.split()),
        jurisdiction=jurisdiction_of(token.scope_kind, token.scope_code, token.scope_street),
        token_id=token.id,
        ip=ip,
    )


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


def revoke_token(session: Session, *, prefix: str, now: datetime) -> ApiToken:
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None:
        raise NotFound(f"no token with prefix {prefix!r}", prefix=prefix)
    if token.revoked_at is None:
        token.revoked_at = now
    return token
