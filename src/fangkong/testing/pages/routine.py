"""Routine testing of the key populations: compliance by industry, enterprise and worker."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fangkong.clock import beijing_minute
from fangkong.deps import ClockDep, PolicyDep, SessionDep
from fangkong.people.masking import mask_name, mask_phone
from fangkong.people.vocab import INDUSTRIES
from fangkong.policy import Policy
from fangkong.testing import routine
from fangkong.testing.pages.common import LakeDep, Reader, error_page
from fangkong.testing.texts import FREQUENCY_LABELS
from fangkong.web.templating import templates

router = APIRouter(include_in_schema=False)


def _tally_view(t: routine.Tally, industry: str | None = None) -> dict[str, Any]:
    query = {**({"industry": industry} if industry else {}), "enterprise": t.key}
    return {
        "key": t.key,
        "link": f"/testing/routine?{urlencode(query)}#workers",
        "label": t.label,
        "industry": INDUSTRIES.get(t.industry, t.industry),
        "frequency": FREQUENCY_LABELS.get(t.frequency, t.frequency),
        "workers": t.workers,
        "compliant": t.compliant,
        "overdue": t.overdue,
        "never": t.never,
        "rate": f"{t.rate:.1%}",
        "low": t.rate < 1,
    }


def _policy_groups(policy: Policy) -> list[dict[str, Any]]:
    by_frequency: dict[str, list[str]] = {}
    for industry, frequency in policy.testing.routine_groups.items():
        by_frequency.setdefault(frequency, []).append(INDUSTRIES.get(industry, industry))
    order = list(policy.testing.frequencies)
    return [
        {
            "frequency": FREQUENCY_LABELS.get(f, f),
            "days": f"{policy.testing.interval_days(f):g}",
            "industries": "、".join(names),
        }
        for f, names in sorted(
            by_frequency.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99
        )
    ]


@router.get("/testing/routine", response_class=HTMLResponse)
def routine_page(
    request: Request,
    session: SessionDep,
    lake: LakeDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Reader,
    industry: str = "",
    enterprise: str = "",
) -> HTMLResponse:
    groups = policy.testing.routine_groups
    chosen = industry if industry in groups else None
    report = routine.compliance(
        session,
        lake=lake,
        policy=policy,
        at=clock.now(),
        scope=principal.jurisdiction,
        industry=chosen,
    )
    firm = next((t for t in report.enterprises if t.key == enterprise), None)
    if enterprise and firm is None:
        return error_page(
            request, f"未找到单位 {enterprise}。", ("/testing/routine", "返回常态化检测")
        )
    workers = [
        {
            "person_no": w.person_no,
            "name": mask_name(w.name),
            "phone": mask_phone(w.phone),
            "last": beijing_minute(w.last_sampled_at) or "—",
            "due_by": beijing_minute(w.due_by) or "尽快",
            "status": w.status,
            "status_label": routine.STATUSES.get(w.status, w.status),
        }
        for w in report.workers
        if firm is not None and w.workplace_no == firm.key
    ]
    total = routine.Tally(
        key="",
        label="合计",
        industry="",
        frequency="",
        workers=sum(t.workers for t in report.groups),
        compliant=sum(t.compliant for t in report.groups),
        overdue=sum(t.overdue for t in report.groups),
        never=sum(t.never for t in report.groups),
    )
    context = {
        "nav": "testing",
        "at": beijing_minute(report.at),
        "rule": report.rule,
        "policy_groups": _policy_groups(policy),
        "policy": policy,
        "industries": [(k, INDUSTRIES.get(k, k)) for k in sorted(groups)],
        "industry": chosen or "",
        "groups": [_tally_view(t) for t in report.groups],
        "total": _tally_view(total),
        "enterprises": [_tally_view(t, chosen) for t in report.enterprises],
        "firm": _tally_view(firm) if firm else None,
        "workers": workers,
    }
    return templates.TemplateResponse(request, "testing/routine.html", context)
