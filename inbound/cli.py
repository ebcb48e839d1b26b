"""The ``inbound`` command (DESIGN §9: a contract — extend it, never break it).

    inbound serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--domain D ...]
                  [--webhook URL] [--secret whsec_...] [--role smtp|worker|all] [--processes N]
    inbound worker [--config FILE] [--data-dir DIR] [--processes N]   (= serve --role worker)
    inbound parse [--received-at ISO8601] [--mail-from ADDR] [--rcpt-to ADDR ...] [--jsonl] PATH...
    inbound check-config FILE
    inbound deliveries [--status S] [--limit N]      inbound deliveries show JOB_ID
    inbound redeliver JOB_ID | --status S --since ISO8601 [--until ISO8601]
    inbound retry JOB_ID
    inbound storage apply-lifecycle                   inbound migrate

Exit status: 0 success; 1 a file could not be read (parse) or an operation failed;
2 bad usage or bad configuration (the message names the key).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inbound import __version__, datadir
from inbound.config import Settings, load
from inbound.errors import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _store_options(p: argparse.ArgumentParser, *, nested: bool = False) -> None:
    # A nested subcommand must not reset what its parent already parsed (argparse quirk).
    default = argparse.SUPPRESS if nested else None
    p.add_argument("--config", type=Path, default=default, help="TOML configuration file")
    p.add_argument(
        "--data-dir",
        default=default,
        help="directory for local storage and the outbox (default ./inbound-data)",
    )


def _process_options(p: argparse.ArgumentParser, *, role: bool) -> None:
    if role:
        p.add_argument(
            "--role",
            choices=["smtp", "worker", "all"],
            default="all",
            help="which children this node runs: SMTP acceptors, delivery workers, or both",
        )
    p.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="processes per role (default: server.processes, else one per core; 1: one process)",
    )


def _states_help() -> str:
    from inbound.outbox.model import STATUS_HELP

    return "job states:\n" + "\n".join(f"  {s.value:<10} {text}" for s, text in STATUS_HELP.items())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inbound", description="Self-hosted inbound mail gateway."
    )
    parser.add_argument("--version", action="version", version=f"inbound {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="receive mail over SMTP and deliver events")
    _store_options(serve)
    serve.add_argument("--listen", help="HOST:PORT to listen on (default 127.0.0.1:2525)")
    serve.add_argument(
        "--domain", action="append", default=[], help="accept mail for this domain (repeatable)"
    )
    serve.add_argument(
        "--webhook", help="POST every event to this URL (a catch-all route for this run)"
    )
    serve.add_argument(
        "--secret", help="whsec_… secret for --webhook (generated and printed when omitted)"
    )
    serve.add_argument(
        "--admin-listen",
        metavar="HOST:PORT",
        help="serve /metrics, /healthz, the admin API and page here (admin.listen)",
    )

    _process_options(serve, role=True)

    worker = sub.add_parser("worker", help="deliver queued events only (no SMTP)")
    _store_options(worker)
    _process_options(worker, role=False)

    parse = sub.add_parser("parse", help="print the event data of message files as JSON")
    parse.add_argument("--received-at", help="ISO 8601 time of receipt (default: now)")
    parse.add_argument("--mail-from", default="", help="envelope sender")
    parse.add_argument(
        "--rcpt-to", action="append", default=[], help="envelope recipient (repeatable)"
    )
    parse.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    parse.add_argument("paths", nargs="+", metavar="PATH", help="message files; - for stdin")

    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", type=Path)
    check.add_argument(
        "--explain",
        action="store_true",
        help="also print every delivery key in force, what it does, and the retry schedule",
    )

    states = _states_help()
    raw_help = argparse.RawDescriptionHelpFormatter
    deliveries = sub.add_parser(
        "deliveries",
        help="list delivery jobs and their state",
        epilog=states,
        formatter_class=raw_help,
    )
    _store_options(deliveries)
    deliveries.add_argument("--status", help="only jobs in this state (see job states below)")
    deliveries.add_argument(
        "--limit", type=int, default=50, help="at most this many jobs, newest first (default 50)"
    )
    deliveries_sub = deliveries.add_subparsers(
        dest="deliveries_command", metavar="show", help="show JOB_ID: one job and its attempts"
    )
    show_job = deliveries_sub.add_parser(
        "show",
        help="one job with every attempt (time, HTTP status, error, response, duration)",
        epilog=states,
        formatter_class=raw_help,
    )
    _store_options(show_job, nested=True)
    show_job.add_argument("job_id", metavar="JOB_ID", help="the job (job_…, the webhook-id)")

    redeliver = sub.add_parser(
        "redeliver",
        help="queue finished jobs again: one by id, or all in a state since a time",
        epilog=states,
        formatter_class=raw_help,
    )
    _store_options(redeliver)
    redeliver.add_argument(
        "job_id", nargs="?", metavar="JOB_ID", help="the job to queue again (failed, refused, …)"
    )
    redeliver.add_argument(
        "--status",
        help="every job in this state (failed, refused, cancelled or delivered) ...",
    )
    redeliver.add_argument(
        "--since", metavar="ISO8601", help="... that reached it at or after this time"
    )
    redeliver.add_argument(
        "--until", metavar="ISO8601", help="... and before this time (default: now)"
    )

    retry = sub.add_parser(
        "retry",
        help="try a pending job now instead of at its next_attempt_at",
        epilog=states,
        formatter_class=raw_help,
    )
    _store_options(retry)
    retry.add_argument("job_id", metavar="JOB_ID", help="the pending job")

    erase = sub.add_parser("erase", help="erase everything held about an address")
    _store_options(erase)
    erase.add_argument("--address", required=True)
    erase.add_argument(
        "--dry-run", action="store_true", help="list what would be erased, erase nothing"
    )
    erase.add_argument(
        "--operator", help="who asked (kept in the audit record; default: the OS user)"
    )

    export = sub.add_parser("export", help="export everything held about an address as JSON")
    _store_options(export)
    export.add_argument("--address", required=True)
    export.add_argument("--out", required=True, type=Path, help="file to write (created 0600)")
    export.add_argument("--operator", help="who asked (default: the OS user)")

    audit = sub.add_parser("audit", help="list erase and export audit records")
    _store_options(audit)

    show = sub.add_parser("show", help="print a stored event (or --raw message), decrypted")
    _store_options(show)
    show.add_argument("message_id")
    show.add_argument("--raw", action="store_true", help="the raw message instead of the event")

    migrate = sub.add_parser(
        "migrate", help="create or upgrade the outbox schema (serve also does it at start)"
    )
    _store_options(migrate)

    storage = sub.add_parser("storage", help="storage maintenance")
    storage_sub = storage.add_subparsers(dest="storage_command", required=True)
    lifecycle = storage_sub.add_parser(
        "apply-lifecycle", help="merge inbound's expiry rules into the bucket"
    )
    _store_options(lifecycle)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    datadir.restrict_process()  # before anything is written: files 0600, dirs 0700
    try:
        if args.command == "parse":
            return _parse(args)
        if args.command == "check-config":
            settings = load(args.file, os.environ)
            print(
                f"{args.file}: OK ({len(settings.routes)} routes,"
                f" domains {', '.join(settings.domains)})"
            )
            if args.explain:
                from inbound.config_explain import explain

                print("\n".join(explain(settings)))
            return EXIT_OK
        settings = _settings(args)
    except ConfigError as exc:
        print(f"inbound: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from inbound import log

    log.setup(settings.log_level, log_format=settings.log_format)
    if args.command in ("serve", "worker"):
        role = getattr(args, "role", "worker")
        try:
            datadir.check(settings.data_dir)
            if role != "worker":
                from inbound.smtp.server import probe_listen

                probe_listen(settings.listen_host, settings.listen_port)
        except ConfigError as exc:
            print(f"inbound: {exc}", file=sys.stderr)
            return EXIT_USAGE
        from inbound import supervisor

        return _refused_at_start(
            lambda: supervisor.run(settings, supervisor.Role(role), os.environ)
        )
    if args.command == "deliveries":
        if args.deliveries_command == "show":
            return asyncio.run(_show_job(settings, args.job_id))
        return asyncio.run(_deliveries(settings, args.status, args.limit))
    if args.command == "redeliver":
        return asyncio.run(_redeliver(settings, args))
    if args.command == "retry":
        return asyncio.run(_retry(settings, args.job_id))
    if args.command == "storage":
        return asyncio.run(_apply_lifecycle(settings))
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command in ("erase", "export", "audit", "show"):
        return asyncio.run(_privacy(settings, args))
    return EXIT_USAGE  # pragma: no cover  (argparse rejects unknown commands)


def _refused_at_start(run: Callable[[], int]) -> int:
    """A node the outbox refuses (another install's secret, a newer schema): one line."""
    from inbound.errors import SchemaTooNew

    try:
        return run()
    except ConfigError as exc:
        print(f"inbound: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SchemaTooNew as exc:
        print(f"inbound: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    if getattr(args, "processes", None) is not None:
        overrides["processes"] = args.processes
    if getattr(args, "listen", None):
        overrides["listen"] = args.listen
    if getattr(args, "admin_listen", None):
        overrides["admin_listen"] = args.admin_listen
    if getattr(args, "domain", None):
        overrides["domains"] = args.domain
    config = getattr(args, "config", None)
    if getattr(args, "webhook", None):
        secret = args.secret
        if not secret:
            # Kept in the data dir and reused, so jobs queued before a restart are still
            # signed with the secret the receiver knows; printed at first start only.
            data_dir = load(config, os.environ, overrides).data_dir
            secret, created = datadir.cli_webhook_secret(data_dir)
            if created:
                print(
                    f"webhook secret (kept in {data_dir / datadir.CLI_SECRET_FILE}): {secret}",
                    flush=True,
                )
        overrides["webhook"] = args.webhook
        overrides["secret"] = secret
    return load(config, os.environ, overrides)


# ---------------------------------------------------------------- parse


def _parse(args: argparse.Namespace) -> int:
    from inbound import events
    from inbound.outbox.model import Envelope
    from parsers import Hints, classify, parse

    received_at = datetime.now(UTC)
    if args.received_at:
        try:
            received_at = datetime.fromisoformat(args.received_at.replace("Z", "+00:00"))
        except ValueError:
            print(
                f"inbound: --received-at: not an ISO 8601 time: {args.received_at!r}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if received_at.tzinfo is None:
            received_at = received_at.replace(tzinfo=UTC)
    envelope = Envelope(
        mail_from=args.mail_from, rcpt_to=tuple(args.rcpt_to), remote_ip=None, helo=None, tls=False
    )
    hints = Hints(rcpt_to=tuple(args.rcpt_to))
    jsonl = args.jsonl or len(args.paths) > 1
    out = sys.stdout.buffer
    status = EXIT_OK
    for path in args.paths:
        try:
            raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            line: dict[str, Any] = {"path": path, "error": exc.strerror or type(exc).__name__}
            status = EXIT_FAILED
        else:
            parsed = parse(raw, received_at)
            verdict = classify(parsed, hints, received_at)
            line = events.build(
                parsed,
                verdict,
                message_id=_stable_id(raw, received_at),
                received_at=received_at,
                route=None,
                envelope=envelope,
                mailbox_hash=None,
                raw=events.RawRef(
                    key=None, size=len(raw), sha256=hashlib.sha256(raw).hexdigest(), expires_at=None
                ),
                attachments=events.AttachmentPolicy(inline_limit=0),
            )["data"]
        text = json.dumps(line, ensure_ascii=False, indent=None if jsonl else 2)
        out.write(text.encode("utf-8") + b"\n")
        out.flush()
    return status


def _stable_id(raw: bytes, received_at: datetime) -> str:
    """The same file parses to the same id: ``inbound parse`` output is reproducible."""
    from inbound.accept import new_message_id

    digest = int.from_bytes(hashlib.sha256(raw).digest()[:10], "big")
    base = new_message_id(int(received_at.timestamp() * 1000))[:14]  # msg_ + the time part
    tail = []
    for _ in range(16):
        tail.append("0123456789abcdefghjkmnpqrstvwxyz"[digest & 31])
        digest >>= 5
    return base + "".join(reversed(tail))


# ---------------------------------------------------------------- outbox commands


async def _deliveries(settings: Settings, status: str | None, limit: int) -> int:
    from inbound import app
    from inbound.outbox.model import JobStatus

    outbox = app.open_outbox(settings)
    try:
        try:
            wanted = JobStatus(status) if status else None
        except ValueError:
            print(
                f"inbound: --status: one of {', '.join(s.value for s in JobStatus)}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        for job in await outbox.jobs(wanted, limit):
            print(_job_line(job))
    finally:
        await outbox.close()
    return EXIT_OK


def _job_line(job: Any) -> str:
    from inbound.outbox.model import FINAL_STATUSES

    line = (
        f"{job.id}  {job.message.id}  {job.route:<12} {job.status.value:<9} attempts={job.attempts}"
    )
    if job.status not in FINAL_STATUSES:  # only a job that will be tried again has a next
        line += f"  next={job.next_attempt_at.isoformat(timespec='seconds')}"
    return line


async def _migrate(settings: Settings) -> int:
    from inbound import app
    from inbound.errors import InboundError

    outbox = app.open_outbox(settings)
    try:
        report = await outbox.migrate()
    except InboundError as exc:
        print(f"inbound: migrate failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await outbox.close()
    if report.applied:
        print(f"outbox schema at version {report.version}; applied {', '.join(report.applied)}")
    else:
        print(f"outbox schema at version {report.version}; up to date")
    return EXIT_OK


async def _show_job(settings: Settings, job_id: str) -> int:
    from inbound import app

    outbox = app.open_outbox(settings)
    try:
        job = await outbox.job(job_id)
        if job is None:
            print(f"inbound: no job {job_id}", file=sys.stderr)
            return EXIT_FAILED
        attempts = await outbox.attempts(job_id)
        print(_job_line(job))
        print(
            f"  received {job.message.received_at.isoformat(timespec='seconds')}"
            f"  {job.message.raw_size} bytes"
        )
        if not attempts:
            print("  no attempt yet")
        for a in attempts:
            answer = f"HTTP {a.status_code}" if a.status_code else (a.detail or "-")
            print(
                f"  #{a.n} {a.at.isoformat(timespec='seconds')}  {a.outcome:<9} {answer}"
                f"  {a.duration_ms or 0} ms" + (f"  kind={a.kind}" if a.kind else "")
            )
            if a.status_code and a.detail and a.detail != f"HTTP {a.status_code}":
                print(f"      {a.detail}")
            if a.response:
                print(f"      response: {json.dumps(a.response, ensure_ascii=False)}")
    finally:
        await outbox.close()
    return EXIT_OK


def _iso_arg(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(flag, f"not an ISO 8601 time: {value!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def _redeliver(settings: Settings, args: argparse.Namespace) -> int:
    from inbound import app
    from inbound.outbox.model import JobStatus

    try:
        if (args.job_id is None) == (args.status is None):
            raise ConfigError("redeliver", "give a JOB_ID, or --status with --since")
        status = None
        if args.status is not None:
            try:
                status = JobStatus(args.status)
            except ValueError:
                raise ConfigError(
                    "--status", f"one of {', '.join(s.value for s in JobStatus)}"
                ) from None
            if args.since is None:
                raise ConfigError("--since", "required with --status (an ISO 8601 time)")
        since, until = _iso_arg(args.since, "--since"), _iso_arg(args.until, "--until")
    except ConfigError as exc:
        print(f"inbound: {exc.key}: {exc.problem}", file=sys.stderr)
        return EXIT_USAGE
    outbox = app.open_outbox(settings)
    try:
        if status is not None and since is not None:
            ids = await outbox.requeue_matching(status, since, until, datetime.now(UTC))
            for job_id in ids:
                print(f"{job_id}: queued again")
            print(f"{len(ids)} {status.value} jobs queued again")
            return EXIT_OK
        if await outbox.requeue(args.job_id, datetime.now(UTC)):
            print(f"{args.job_id}: queued again")
            return EXIT_OK
        print(f"inbound: {args.job_id}: no such job, or it is still pending", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await outbox.close()


async def _retry(settings: Settings, job_id: str) -> int:
    from inbound import app

    outbox = app.open_outbox(settings)
    try:
        if await outbox.retry_now(job_id, datetime.now(UTC)):
            print(f"{job_id}: due now (a running worker sends it within a second)")
            return EXIT_OK
        print(f"inbound: {job_id}: no such job, or it is not pending", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await outbox.close()


# ---------------------------------------------------------------- privacy


def _operator(args: argparse.Namespace) -> str:
    if args.operator:
        return str(args.operator)
    return "cli:" + (os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid()))


async def _privacy(settings: Settings, args: argparse.Namespace) -> int:
    from inbound.app import Service
    from inbound.errors import InboundError

    service = Service(settings, smtp=False)
    now = datetime.now(UTC)
    try:
        await service.open_outbox()
        if args.command == "erase":
            record = await service.privacy.erase(
                args.address, operator=_operator(args), now=now, dry_run=args.dry_run
            )
            verb = "would erase" if args.dry_run else "erased"
            print(f"{verb} {record.counts['messages']} messages: {json.dumps(record.counts)}")
            for mid in record.message_ids:
                print(f"  {mid}")
            print(f"audit record {record.id}")
        elif args.command == "export":
            record = await service.privacy.export(
                args.address, args.out, operator=_operator(args), now=now
            )
            print(
                f"exported {record.counts['messages']} messages to {args.out};"
                f" audit record {record.id}"
            )
        elif args.command == "audit":
            for rec in await service.outbox.audits():
                print(json.dumps(rec.to_dict()))
        else:
            return await _show(service, args.message_id, args.raw)
    except InboundError as exc:
        print(f"inbound: {args.command} failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await service.stop()
    return EXIT_OK


async def _show(service: Any, message_id: str, raw: bool) -> int:
    from inbound.storage import keys

    msg = await service.outbox.message(message_id)
    if msg is None:
        print(f"inbound: no message {message_id}", file=sys.stderr)
        return EXIT_FAILED
    dek = service.objects.data_key(msg.id, msg.wrapped_key)
    key = msg.raw_key if raw else keys.event_key(msg.id, msg.received_at, service.privacy.prefix)
    data = await service.objects.get(dek, key)
    sys.stdout.buffer.write(data if raw else data + b"\n")
    return EXIT_OK


async def _apply_lifecycle(settings: Settings) -> int:
    from inbound import app, retention

    store = app.open_store(settings)
    prefix = settings.s3.prefix if settings.s3 else ""
    try:
        for line in await store.apply_lifecycle(
            retention.lifecycle_rules(settings.raw_days, settings.event_days, prefix)
        ):
            print(line)
    finally:
        await store.close()
    return EXIT_OK
