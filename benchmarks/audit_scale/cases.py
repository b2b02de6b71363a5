"""The requests measured: every list of ``GET /api/auditoria/``, the per-object logs and the access history,
each as the table shows it and as a prebuilt WSGI environ."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from benchmarks.audit_scale.subjects import Subjects
from benchmarks.audit_scale.wsgi import environ

COMMON_EVENT, RARE_EVENT = "api_token_usado", "refresh_reutilizado"
USER_EVENT = "2fa_falhou"  # a few percent of a user's events: what ``usuario`` + ``evento`` asks for


@dataclass
class Case:
    key: str
    label: str
    shown: str  # the request as the table shows it
    path: str
    query: str
    who: str  # "root", "user" or "steady" (the user kept alike)
    env: dict = field(default_factory=dict)
    control_of: str = ""  # the case this one repeats with something the same at both sizes (a ↳ row)
    holds: str = ""  # what: "rows" (``limite`` set, as many rows at both sizes) or "uses" (the user kept alike)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_cases(subjects: Subjects, now: datetime, deep_query: str) -> list[Case]:
    since, until, window = iso(now - timedelta(days=90)), iso(now - timedelta(days=180)), iso(now - timedelta(days=210))
    user = subjects.user_id
    listing, access = "/api/auditoria/", "/api/auditoria/acessos/"
    rows = [
        ("first_root", "first page, root", "`/api/auditoria/`", listing, "", "root"),
        ("first_user", "first page, ordinary user (own events)", "`/api/auditoria/`", listing, "", "user"),
        ("deep", "page 51 (`next` followed 50 times)", "`/api/auditoria/?cursor=…`", listing, deep_query, "root"),
        ("usuario", "`usuario`", "`?usuario=<the user>`", listing, f"usuario={user}", "root"),
        ("evento", "`evento`, common", f"`?evento={COMMON_EVENT}`", listing, f"evento={COMMON_EVENT}", "root"),
        ("evento_rare", "`evento`, rare", f"`?evento={RARE_EVENT}`", listing, f"evento={RARE_EVENT}", "root"),
        ("alvo_tipo", "`alvo_tipo`", "`?alvo_tipo=convite`", listing, "alvo_tipo=convite", "root"),
        ("alvo_id", "`alvo_id`", "`?alvo_id=<busiest target>`", listing, f"alvo_id={subjects.target}", "root"),
        ("ip", "`ip`", "`?ip=<busiest address>`", listing, f"ip={subjects.ip}", "root"),
        ("desde", "`desde`", "`?desde=<90 days ago>`", listing, f"desde={since}", "root"),
        ("ate", "`ate`", "`?ate=<180 days ago>`", listing, f"ate={until}", "root"),
        (
            "desde_ate",
            "`desde` + `ate`",
            "`?desde=<210 d ago>&ate=<180 d ago>`",
            listing,
            f"desde={window}&ate={until}",
            "root",
        ),
        (
            "evento_ate",
            "`evento` + `ate`",
            f"`?evento={COMMON_EVENT}&ate=<180 d ago>`",
            listing,
            f"evento={COMMON_EVENT}&ate={until}",
            "root",
        ),
        (
            "usuario_ate",
            "`usuario` + `ate`",
            "`?usuario=<the user>&ate=<180 d ago>`",
            listing,
            f"usuario={user}&ate={until}",
            "root",
        ),
        (
            "usuario_evento",
            "`usuario` + `evento`",
            f"`?usuario=<the user>&evento={USER_EVENT}`",
            listing,
            f"usuario={user}&evento={USER_EVENT}",
            "root",
        ),
        (
            "invite_logs",
            "an invite's logs",
            "`/api/tokens/<invite>/logs/`",
            f"/api/tokens/{subjects.invite}/logs/",
            "",
            "root",
        ),
        (
            "token_logs",
            "an API token's logs (its owner)",
            "`/api/api-tokens/<token>/logs/`",
            f"/api/api-tokens/{subjects.user_token}/logs/",
            "",
            "user",
        ),
        ("access_user", "access history, the user", "`/api/auditoria/acessos/`", access, "", "user"),
        (
            "access_root",
            "access history, root `?usuario=`",
            "`/api/auditoria/acessos/?usuario=<the user>`",
            access,
            f"usuario={user}",
            "root",
        ),
    ]
    # The access history grows with its subject's uses, and the user above has more of them in the large log:
    # each access case is measured again for the user kept alike, the same credentials and uses at both sizes.
    kept_alike = "↳ the same for a user with the same uses at both sizes"
    controls = {
        "access_user": Case(
            "access_user_steady",
            kept_alike,
            "`/api/auditoria/acessos/`",
            access,
            "",
            "steady",
            control_of="access_user",
            holds="uses",
        ),
        "access_root": Case(
            "access_root_steady",
            kept_alike,
            "`/api/auditoria/acessos/?usuario=<the user kept alike>`",
            access,
            f"usuario={subjects.steady_id}",
            "root",
            control_of="access_root",
            holds="uses",
        ),
    }
    cases = []
    for row in rows:
        cases.append(Case(*row))
        if row[0] in controls:
            cases.append(controls[row[0]])
    headers = {"root": subjects.root_header, "user": subjects.user_header, "steady": subjects.steady_header}
    for case in cases:
        case.env = environ(case.path, urllib.parse.quote(case.query, safe="=&"), headers[case.who])
    return cases
