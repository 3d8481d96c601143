"""One demo user per role, so that every view of the platform can be tried.

The accounts live only in the demo store, which ``fangkong demo`` rebuilds on every run;
their shared password is printed and documented in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from fangkong.auth import service as auth
from fangkong.auth.permissions import ROLES
from fangkong.demo.city import CITY_CODE
from fangkong.flows import accounts
from fangkong.testing import labs

PASSWORD = "zibo-demo-2022"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    scope_kind: str
    scope_code: str
    display_name: str


USERS = (
    DemoUser("hq", "command", "city", "3703", "市指挥部"),
    DemoUser("cdc", "cdc", "city", "3703", "市疾控中心流调组"),
    DemoUser("zhoucun", "district_officer", "district", "370306", "周村区专班"),
    DemoUser("zhangdian", "district_officer", "district", "370303", "张店区专班"),
    DemoUser("sichoulu", "community_worker", "street", "370306001", "丝绸路街道网格员"),
    DemoUser("site01", "site_staff", "site", "S01", "1号集中隔离点"),
    DemoUser("lab01", "lab", "lab", "L01", "市疾控检测实验室"),
    DemoUser("venue01", "venue_device", "venue", "V37030600001", "周村汽车站验码终端"),
    DemoUser("hotline", "hotline", "city", "3703", "12345热线坐席"),
    DemoUser("admin", "admin", "city", "3703", "系统管理员"),
)


@dataclass(frozen=True)
class Credential:
    user: DemoUser
    password: str | None
    token: str | None


def create_users(session: Session, *, now: datetime, keys: auth.Keys) -> list[Credential]:
    """The demo users; machines (token-only roles) and the lab also get an API token."""
    made: list[Credential] = []
    for user in USERS:
        token_only = ROLES[user.role].token_only
        if user.scope_kind == "lab" and labs.find_lab(session, user.scope_code) is None:
            # The city CDC's lab, which the replay's results name.
            labs.register_lab(
                session,
                city_code=CITY_CODE,
                code=user.scope_code,
                name=user.display_name,
                now=now,
            )
        accounts.create_user(
            session,
            username=user.username,
            password=None if token_only else PASSWORD,
            role_code=user.role,
            scope_kind=user.scope_kind,
            scope_code=user.scope_code,
            now=now,
            display_name=user.display_name,
        )
        token = None
        if token_only or user.role == "lab":
            token, _ = accounts.create_token(
                session,
                name=f"{user.username}-demo",
                role_code=user.role,
                scope_kind=user.scope_kind,
                scope_code=user.scope_code,
                now=now,
                keys=keys,
                created_by="demo",
                days=365,
            )
        made.append(Credential(user, None if token_only else PASSWORD, token))
    return made
