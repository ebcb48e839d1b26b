"""The admin listener over HTTP: the one aiohttp user (DESIGN §11).

aiohttp because it serves on the asyncio loop the service already runs (``AppRunner`` +
``TCPSite``, port 0 works), with no second server process or thread, and it is a single
mature dependency with cookies, forms and streaming built in; starlette would need
uvicorn beside it, and the stdlib's http.server blocks a thread per request.

Routes (auth rules in auth.py):

    GET  /metrics /healthz /readyz          open
    GET  /files/<key>?expires=&sig=         open, signed (files.py)
    GET  /api/messages?status=&limit=       list (no bodies, no addresses)
    GET  /api/messages/<id>?addresses=1     one message, its jobs and attempts
    GET  /api/jobs/<id>                     a job with every attempt
    POST /api/jobs/<id>/redeliver           queue a finished job again
    POST /api/jobs/<id>/retry               a pending job now
    POST /api/redeliver  {"status", "since", "until"?}   bulk
    GET  /  /login ; POST /login /logout /ui/jobs/<id>/(redeliver|retry)   the page
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from inbound.admin import page
from inbound.admin.api import Api, BadRequest, parse_status, parse_time
from inbound.admin.auth import COOKIE, SESSION_SECONDS, Auth
from inbound.admin.files import FileSigner
from inbound.errors import InboundError
from inbound.metrics import CONTENT_TYPE, DueStats, Metrics
from inbound.sealed import SealedObjects
from inbound.storage.base import ObjectNotFound

log = logging.getLogger("inbound.admin")

_OPEN = frozenset({"/metrics", "/healthz", "/readyz"})
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_LIMIT = 500
_BEARER = web.RequestKey("inbound_bearer", bool)  # a valid Bearer token came with it
_SESSION = web.RequestKey("inbound_session", str)  # the valid session cookie, or ""


class AdminServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        auth: Auth,
        api: Api,
        metrics: Metrics,
        objects: SealedObjects,
        files: FileSigner | None,
        allowed_hosts: frozenset[str] = frozenset(),
        reuse_port: bool = False,
    ) -> None:
        self.reuse_port = reuse_port
        self.host, self.port = host, port
        self.auth, self.api, self.metrics = auth, api, metrics
        self.objects, self.files = objects, files
        self.allowed_hosts = allowed_hosts
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------ life

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        r = app.router
        r.add_get("/metrics", self.get_metrics)
        r.add_get("/healthz", self.healthz)
        r.add_get("/readyz", self.readyz)
        r.add_get("/files/{key:.+}", self.get_file)
        r.add_get("/api/messages", self.api_messages)
        r.add_get("/api/messages/{id}", self.api_message)
        r.add_get("/api/jobs/{id}", self.api_job)
        r.add_post("/api/jobs/{id}/redeliver", self.api_redeliver)
        r.add_post("/api/jobs/{id}/retry", self.api_retry)
        r.add_post("/api/redeliver", self.api_redeliver_matching)
        r.add_get("/", self.ui_index)
        r.add_get("/login", self.ui_login_form)
        r.add_post("/login", self.ui_login)
        r.add_post("/logout", self.ui_logout)
        r.add_post("/ui/jobs/{id}/{action}", self.ui_action)
        return app

    async def start(self) -> tuple[str, int]:
        self._runner = web.AppRunner(
            self.app(), access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_port=self.reuse_port or None)
        await site.start()
        address = self._runner.addresses[0]
        self.port = address[1]
        log.info("admin listening on %s:%d", address[0], address[1])
        return address[0], address[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------ guard

    @web.middleware
    async def _guard(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        path = request.path
        if path in _OPEN or path.startswith("/files/"):
            return await handler(request)
        if self.auth.token is None and not self._host_ok(request):
            return web.Response(status=421, text="unknown host name for this listener\n")
        request[_BEARER] = self.auth.bearer_ok(request.headers.get("Authorization"))
        session = request.cookies.get(COOKIE)
        request[_SESSION] = (
            session if session and self.auth.session_ok(session, time.time()) else ""
        )
        if path == "/login":
            return await handler(request)
        signed_in = request[_BEARER] or bool(request[_SESSION])
        if self.auth.token is not None and not signed_in:
            if path.startswith("/api/"):
                return _json({"error": "a valid token is required"}, 401)
            raise web.HTTPSeeOther("/login")
        if request.method == "POST" and not request[_BEARER]:
            given = request.headers.get("X-CSRF-Token")
            if given is None and request.content_type == "application/x-www-form-urlencoded":
                given = str((await request.post()).get("csrf", ""))
            if not self.auth.csrf_ok(request[_SESSION], given):
                return _json({"error": "missing or wrong CSRF token"}, 403)
        return await handler(request)

    def _host_ok(self, request: web.Request) -> bool:
        host = (request.host or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in self.allowed_hosts

    # ------------------------------------------------------------ open

    async def get_metrics(self, request: web.Request) -> web.Response:
        due: DueStats | None = None
        try:
            now = self.api.clock.now()
            count, oldest = await self.api.outbox.due_stats(now)
            age = 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)
            due = DueStats(due_jobs=count, oldest_due_seconds=age)
        except InboundError as exc:
            log.warning("metrics: outbox unreadable (%s); gauges left out", type(exc).__name__)
        body = self.metrics.exposition(due)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        checks = await self.api.ready()
        ready = all(v == "ok" for v in checks.values())
        return _json({"ready": ready, **checks}, 200 if ready else 503)

    async def get_file(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        q = request.query
        if self.files is None or not self.files.check(
            key, q.get("expires", ""), q.get("sig", ""), self.api.clock.now().timestamp()
        ):
            return web.Response(status=403, text="invalid or expired link\n")
        message_id = key[len(self.files.prefix) :].split("/")[1]
        msg = await self.api.outbox.message(message_id)
        if msg is None:
            return web.Response(status=404, text="gone\n")
        try:
            dek = self.objects.data_key(msg.id, msg.wrapped_key)
            data = await self.objects.get(dek, key)
        except ObjectNotFound:
            return web.Response(status=404, text="gone\n")
        except InboundError:
            return web.Response(status=503, text="storage unavailable, try again\n")
        # Never rendered by a browser on the admin origin: a download, sandboxed.
        return web.Response(
            body=data,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Disposition": "attachment",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "sandbox",
                "Cache-Control": "private, no-store",
            },
        )

    # ------------------------------------------------------------ API

    async def api_messages(self, request: web.Request) -> web.Response:
        try:
            status = parse_status(request.query.get("status"))
            limit = _limit(request.query.get("limit"))
        except BadRequest as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"messages": await self.api.messages(status, limit)})

    async def api_message(self, request: web.Request) -> web.Response:
        found = await self.api.message(
            request.match_info["id"], request.query.get("addresses") in ("1", "true")
        )
        return _json(found, 200) if found else _json({"error": "no such message"}, 404)

    async def api_job(self, request: web.Request) -> web.Response:
        found = await self.api.job(request.match_info["id"])
        return _json(found, 200) if found else _json({"error": "no such job"}, 404)

    async def api_redeliver(self, request: web.Request) -> web.Response:
        job_id = request.match_info["id"]
        if await self.api.redeliver(job_id):
            log.info("admin: job %s queued again", job_id)
            return _json({"id": job_id, "status": "pending"})
        return _json({"error": "no such job, or it is not finished"}, 409)

    async def api_retry(self, request: web.Request) -> web.Response:
        job_id = request.match_info["id"]
        if await self.api.retry(job_id):
            log.info("admin: job %s due now", job_id)
            return _json({"id": job_id, "status": "pending", "due": "now"})
        return _json({"error": "no such job, or it is not pending"}, 409)

    async def api_redeliver_matching(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object")
            status = parse_status(body.get("status"))
            since = parse_time(body.get("since"), "since")
            until = parse_time(body.get("until"), "until")
            if status is None or since is None:
                raise BadRequest("status and since are required")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _json({"error": "the body must be JSON"}, 400)
        except BadRequest as exc:
            return _json({"error": str(exc)}, 400)
        ids = await self.api.redeliver_matching(status, since, until)
        log.info("admin: %d %s jobs queued again", len(ids), status.value)
        return _json({"requeued": ids})

    # ------------------------------------------------------------ page

    async def ui_index(self, request: web.Request) -> web.StreamResponse:
        session = request[_SESSION]
        new_cookie = None
        if not session:  # open mode: a session only to key the CSRF token
            session = new_cookie = self.auth.new_session(time.time())
        status_text = request.query.get("status") or None
        try:
            status = parse_status(status_text)
        except BadRequest:
            status, status_text = None, None
        messages = await self.api.messages(status, 100)
        jobs: dict[str, dict[str, Any]] = {}
        for msg in messages:
            for j in msg["jobs"]:
                full = await self.api.job(j["id"])
                if full is not None:
                    jobs[j["id"]] = full
        notice = _notice(request.query.get("done"), request.query.get("job"))
        html = page.dashboard(
            messages,
            jobs,
            status=status_text,
            csrf=self.auth.csrf(session),
            notice=notice,
            signed_in=self.auth.token is not None,
        )
        resp = web.Response(text=html, content_type="text/html", headers=_PAGE_HEADERS)
        if new_cookie is not None:
            self._set_cookie(request, resp, new_cookie)
        return resp

    async def ui_login_form(self, request: web.Request) -> web.StreamResponse:
        if self.auth.token is None or request[_SESSION]:
            raise web.HTTPSeeOther("/")
        return web.Response(text=page.login(), content_type="text/html", headers=_PAGE_HEADERS)

    async def ui_login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if not self.auth.token_ok(str(form.get("token", ""))):
            log.warning("admin: a sign-in with a wrong token from %s", request.remote)
            return web.Response(
                text=page.login("Wrong token."),
                status=401,
                content_type="text/html",
                headers=_PAGE_HEADERS,
            )
        resp = web.HTTPSeeOther("/")
        self._set_cookie(request, resp, self.auth.new_session(time.time()))
        raise resp

    async def ui_logout(self, request: web.Request) -> web.StreamResponse:
        resp = web.HTTPSeeOther("/login")
        resp.del_cookie(COOKIE, path="/")
        raise resp

    async def ui_action(self, request: web.Request) -> web.StreamResponse:
        job_id, action = request.match_info["id"], request.match_info["action"]
        form = await request.post()
        if action == "redeliver":
            done = await self.api.redeliver(job_id)
        elif action == "retry":
            done = await self.api.retry(job_id)
        else:
            raise web.HTTPNotFound()
        if done:
            log.info("admin: %s of job %s (web page)", action, job_id)
        back = str(form.get("status", ""))
        query = f"done={action if done else 'none'}&job={quote(job_id)}"
        if back:
            query += f"&status={quote(back)}"
        raise web.HTTPSeeOther(f"/?{query}")

    def _set_cookie(self, request: web.Request, resp: web.StreamResponse, value: str) -> None:
        resp.set_cookie(
            COOKIE,
            value,
            max_age=SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )


_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _notice(done: str | None, job: str | None) -> str | None:
    if not done or not job:
        return None
    return {
        "redeliver": f"Job {job} is queued again.",
        "retry": f"Job {job} is due now.",
    }.get(done, f"Job {job}: nothing to do (its state does not allow it).")


def _limit(text: str | None) -> int:
    if not text:
        return 100
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequest(f"limit: a number from 1 to {MAX_LIMIT}")
    return int(text)


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(value, ensure_ascii=False),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
