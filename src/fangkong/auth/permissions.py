"""Roles and their permissions: the one declarative table (docs/security.md is generated
from it, and a test keeps the two equal).

A permission names what may be done; the jurisdiction (``auth/jurisdiction.py``) names
where. A role also says which kind of area its users are bound to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from fangkong.errors import InvalidInput

RoleCode = Literal[
    "command",
    "cdc",
    "district_officer",
    "community_worker",
    "site_staff",
    "lab",
    "venue_device",
    "hotline",
    "admin",
]
ScopeKind = Literal["city", "district", "unit", "street", "community", "site", "lab", "venue"]

PERMISSIONS: dict[str, str] = {
    "cases.read": "查看病例 Read cases, their figures and the bulletin",
    "cases.write": "登记、修改、转确诊、出院 Create and edit cases",
    "cases.import": "导入病例 Import case files",
    "cases.review": "审核、核减、订正病例，发布通报 Review, void, correct cases; publish bulletins",
    "stats.read": "查看统计与通报 Read daily statistics and bulletins",
    "person.read": "查看人员、住户、单位、场所（脱敏）Read the registry, masked",
    "person.write": "登记、修改人员与场所 Edit the registry",
    "person.import": "导入人员、单位、场所 Import registry files",
    "person.pii.read": "查看完整身份证号、手机号、住址 Read unmasked personal data",
    "tracing.read": "查看密接与传播链 Read contacts and chains",
    "tracing.write": "开展流调 Run tracing",
    "export": "导出数据 Export lists (with a stated reason)",
    "audit.read": "查看审计日志 Read and export the audit log",
    "users.manage": "管理用户与令牌 Manage users and API tokens",
    "scans.write": "上传场所扫码记录 Upload venue scans",
    "scans.read": "查看场所扫码记录 Read venue scans",
    "testing.read": "查看核酸检测轮次、覆盖率与名单 Read testing rounds, coverage and lists",
    "testing.plan": "组织核酸检测轮次、规划采样点、应用结果 Run testing rounds",
    "testing.exempt": "登记免检人员 Record who is exempt from a round",
    "testing.sample": "上传采样记录、封管 Upload samples and close tubes",
    "testing.results": "上传检测结果 Upload lab results",
    "testing.export": "导出未检、复核人员名单 Export missing and recall lists (audited)",
    "quarantine.read": "查看隔离点、隔离人员、转运与监测 Read sites, orders, transfers, monitoring",
    "quarantine.plan": "生成隔离令、分房、转运、解除隔离 Plan quarantine, transfers, releases",
    "quarantine.sites": "登记、导入隔离点与房间 Manage quarantine sites and rooms",
    "quarantine.site": "隔离点：确认接收、登记在点情况 Work a site: arrivals, people on site",
    "monitoring.report": "录入健康监测、自报链接、处理提醒 Enter monitoring reports, handle alerts",
    "zones.read": "查看风险区域、解封倒计时与复工复产决定 Read risk zones, lifting and reopening",
    "zones.propose": "提出划定风险区域建议、登记区域筛查 Propose zones, record zone screenings",
    "zones.decide": "确认、调整、驳回、解除风险区域，发布公告与复工决定 Decide zones, reopening",
}


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    permissions: frozenset[str]
    # Area kinds a user of this role may be bound to (auth/jurisdiction.py).
    scopes: tuple[str, ...]
    token_only: bool = False  # machines: no password sign-in


def _role(
    code: str, label: str, perms: set[str], scopes: tuple[str, ...], token_only: bool = False
) -> Role:
    unknown = perms - PERMISSIONS.keys()
    if unknown:
        raise ValueError(f"role {code}: unknown permissions {sorted(unknown)}")
    return Role(code, label, frozenset(perms), scopes, token_only)


_READ = {"cases.read", "stats.read", "person.read"}
_AREAS = ("city", "district", "unit", "street", "community")

ROLES: dict[str, Role] = {
    r.code: r
    for r in (
        _role(
            "command",
            "指挥部",
            _READ
            | {
                "cases.write",
                "cases.review",
                "person.pii.read",
                "export",
                "scans.read",
                "tracing.read",
                "tracing.write",
                "testing.read",
                "testing.plan",
                "testing.export",
                "quarantine.read",
                "quarantine.plan",
                "zones.read",
                "zones.propose",
                "zones.decide",
            },
            ("city",),
        ),
        _role(
            "cdc",
            "疾控流调",
            _READ
            | {
                "cases.write",
                "cases.review",
                "cases.import",
                "person.write",
                "person.import",
                "person.pii.read",
                "export",
                "scans.write",
                "scans.read",
                "tracing.read",
                "tracing.write",
                "testing.read",
                "testing.plan",
                "testing.exempt",
                "testing.sample",
                "testing.results",
                "testing.export",
                "quarantine.read",
                "quarantine.plan",
                "quarantine.sites",
                "quarantine.site",
                "monitoring.report",
                "zones.read",
                "zones.propose",
            },
            ("city", "district", "unit"),
        ),
        _role(
            "district_officer",
            "区县专班",
            _READ
            | {
                "person.write",
                "person.import",
                "person.pii.read",
                "export",
                "tracing.read",
                "testing.read",
                "testing.plan",
                "testing.exempt",
                "testing.export",
                "quarantine.read",
                "quarantine.plan",
                "quarantine.sites",
                "quarantine.site",
                "monitoring.report",
                "zones.read",
                "zones.propose",
            },
            ("district", "unit"),
        ),
        _role(
            "community_worker",
            "街道/社区网格员",
            {
                "person.read",
                "person.write",
                "person.pii.read",
                "cases.read",
                "tracing.read",
                "testing.read",
                "testing.exempt",
                "testing.sample",
                "testing.export",
                "quarantine.read",
                "monitoring.report",
                "zones.read",
            },
            ("street", "community"),
        ),
        _role(
            "site_staff",
            "隔离点工作人员",
            {"person.read", "quarantine.read", "quarantine.site", "testing.sample"},
            ("site",),
        ),
        _role("lab", "检测机构", {"testing.results"}, ("lab",)),
        _role("venue_device", "场所", {"scans.write"}, ("venue",), token_only=True),
        _role("hotline", "12345坐席", {"stats.read", "person.read", "zones.read"}, ("city",)),
        _role("admin", "系统管理员", {"audit.read", "users.manage", "stats.read"}, ("city",)),
    )
}


def role(code: str) -> Role:
    try:
        return ROLES[code]
    except KeyError:
        raise InvalidInput(f"unknown role {code!r}; roles: {', '.join(ROLES)}") from None


assert set(get_args(RoleCode)) == ROLES.keys(), "RoleCode must list exactly the roles"


def permission_table_markdown() -> str:
    """The roles × permissions table of docs/security.md."""
    codes = list(ROLES)
    head = "| permission | " + " | ".join(f"{ROLES[c].label} `{c}`" for c in codes) + " |"
    rule = "|---|" + "---|" * len(codes)
    rows = [
        f"| `{p}` {desc} | "
        + " | ".join("✓" if p in ROLES[c].permissions else "" for c in codes)
        + " |"
        for p, desc in PERMISSIONS.items()
    ]
    scopes = "| bound to | " + " | ".join(", ".join(ROLES[c].scopes) for c in codes) + " |"
    return "\n".join([head, rule, *rows, scopes])
