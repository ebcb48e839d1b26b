"""The admin web page: server-rendered HTML, no script, no build step.

Recent messages and their deliveries with every attempt, a filter by job state, and a
redeliver / retry-now button per job (form POSTs carrying the CSRF token). Everything
shown is escaped; no body, subject or address appears (the API shows a message's
envelope on request).
"""

from __future__ import annotations

from html import escape
from typing import Any

from inbound.admin.api import STATUS_HELP
from inbound.outbox.model import FINAL_STATUSES, JobStatus

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;align-items:center;gap:20px}
header h1{font-size:17px;margin:0}header form{margin-left:auto}
main{padding:16px 20px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e2e5ea;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eceef2;font-weight:600}code{font-size:12px}
.st{border-radius:9px;padding:1px 8px;font-size:12px;color:#fff;background:#6b7280}
.st-delivered{background:#15803d}.st-pending{background:#b45309}.st-failed{background:#b91c1c}
.st-refused{background:#9f1239}.st-sending{background:#1d4ed8}
nav a{margin-right:10px}nav a.on{font-weight:700}
button{font:inherit;padding:2px 10px;cursor:pointer}details{font-size:12px}
.login{max-width:340px;margin:80px auto;background:#fff;padding:24px;border-radius:6px}
.login input{width:100%;padding:6px;margin:8px 0;box-sizing:border-box}.err{color:#b91c1c}
"""


def _doc(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def login(error: str | None = None) -> str:
    message = f"<p class=err>{escape(error)}</p>" if error else ""
    return _doc(
        "inbound admin: sign in",
        "<form class=login method=post action=/login><h2>inbound admin</h2>"
        f"{message}<label for=token>Admin token</label>"
        "<input id=token name=token type=password autocomplete=current-password autofocus>"
        "<button type=submit>Sign in</button></form>",
    )


def _button(action: str, job_id: str, label: str, csrf: str, status: str | None) -> str:
    back = f"<input type=hidden name=status value='{escape(status)}'>" if status else ""
    return (
        f"<form method=post action='/ui/jobs/{escape(job_id)}/{action}' style=display:inline>"
        f"<input type=hidden name=csrf value='{escape(csrf)}'>{back}"
        f"<button type=submit data-action='{action}' data-job='{escape(job_id)}'>"
        f"{escape(label)}</button></form>"
    )


def _attempts(attempts: list[dict[str, Any]]) -> str:
    if not attempts:
        return "<span>no attempt yet</span>"
    rows = "".join(
        "<tr>"
        f"<td>{a['n']}</td><td>{escape(a['at'][:19])}</td><td>{escape(str(a['outcome']))}</td>"
        f"<td>{escape(str(a['status_code'] or ''))}</td>"
        f"<td>{escape('' if a['status_code'] else a['detail'] or '')}</td>"
        f"<td>{escape(str(a['duration_ms'] or 0))} ms</td>"
        f"<td><code>{escape((a['response'] or '')[:200])}</code></td></tr>"
        for a in attempts
    )
    return (
        f"<details><summary>{len(attempts)} attempt(s)</summary><table>"
        "<tr><th>#</th><th>at</th><th>outcome</th><th>HTTP</th><th>error</th>"
        f"<th>took</th><th>response</th></tr>{rows}</table></details>"
    )


def dashboard(
    messages: list[dict[str, Any]],
    jobs: dict[str, dict[str, Any]],
    *,
    status: str | None,
    csrf: str,
    notice: str | None,
    signed_in: bool,
) -> str:
    links = [f"<a href='/' class='{'on' if not status else ''}'>all</a>"]
    for s in JobStatus:
        on = "on" if s.value == status else ""
        links.append(
            f"<a href='/?status={s.value}' class='{on}' title='{escape(STATUS_HELP[s])}'>"
            f"{s.value}</a>"
        )
    rows = []
    for msg in messages:
        for j in msg["jobs"]:
            full = jobs.get(j["id"], j)
            buttons = []
            if JobStatus(j["status"]) in FINAL_STATUSES - {JobStatus.SKIPPED}:
                buttons.append(_button("redeliver", j["id"], "Redeliver", csrf, status))
            if j["status"] == JobStatus.PENDING.value:
                buttons.append(_button("retry", j["id"], "Retry now", csrf, status))
            nxt = escape(j.get("next_attempt_at", "")[:19])
            rows.append(
                f"<tr data-job='{escape(j['id'])}'>"
                f"<td><code>{escape(msg['id'])}</code><br>{escape(msg['received_at'][:19])}</td>"
                f"<td>{msg['size']:,} B</td><td>{escape(j['route'])}</td>"
                f"<td>{escape(j['kind'] or '')}</td>"
                f"<td><span class='st st-{escape(j['status'])}'>{escape(j['status'])}</span>"
                f"<br><small>{nxt}</small></td>"
                f"<td>{_attempts(full.get('attempts', []))}</td><td>{''.join(buttons)}</td></tr>"
            )
    table = (
        "<table><tr><th>message</th><th>size</th><th>route</th><th>kind</th><th>state</th>"
        f"<th>attempts</th><th></th></tr>{''.join(rows)}</table>"
        if rows
        else "<p>No deliveries match.</p>"
    )
    note = f"<p class=notice role=status>{escape(notice)}</p>" if notice else ""
    logout = (
        "<form method=post action=/logout><input type=hidden name=csrf "
        f"value='{escape(csrf)}'><button type=submit>Sign out</button></form>"
        if signed_in
        else ""
    )
    return _doc(
        "inbound admin",
        f"<header><h1>inbound admin</h1>{logout}</header><main>"
        f"<nav>State: {' '.join(links)}</nav>{note}{table}</main>",
    )
