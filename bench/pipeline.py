"""End-to-end throughput: smtplib from several threads -> `inbound serve` -> loopback webhook.

Prints accepted msgs/s (250s received), delivered msgs/s (webhook POSTs received) and the
service's peak RSS, as medians over several runs, with library versions. Asserts nothing.

    .venv/bin/python bench/pipeline.py [--messages 600] [--threads 8] [--runs 5] [--size 24576]
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

SECRET = "whsec_" + base64.b64encode(b"bench-secret-0123456789abcdef-0123").decode()


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0
        self.lock = threading.Lock()
        counter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # http.server's method name
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with counter.lock:
                    counter.count += 1
                    counter.last = time.perf_counter()
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_message(i: int, size: int) -> bytes:
    m = EmailMessage(policy=policy.SMTP)
    m["From"] = "Bench Sender <sender@load.test>"
    m["To"] = "inbox@bench.test"
    m["Subject"] = f"Load message {i}"
    m["Message-ID"] = f"<bench-{i}@load.test>"
    line = "The quick brown fox jumps over the lazy dog, again and again. "
    body = (line + "\n") * (size // (len(line) + 1))
    m.set_content(body)
    return m.as_bytes()


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def one_run(
    messages: int, threads: int, size: int, extra_config: str = ""
) -> tuple[float, float, int]:
    counter = Counter()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="inbound-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
        env["INBOUND_LOG_LEVEL"] = "WARNING"
        config = Path(tmp) / "bench.toml"
        # One client sends everything: no per-client rate limit for the measurement.
        config.write_text("[server]\nmax_messages_per_minute_per_ip = 0\n" + extra_config)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inbound",
                "serve",
                "--config",
                str(config),
                "--listen",
                f"127.0.0.1:{port}",
                "--data-dir",
                f"{tmp}/data",
                "--domain",
                "bench.test",
                "--webhook",
                counter.url,
                "--secret",
                SECRET,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("inbound serve did not start") from None
                    time.sleep(0.1)
            bodies = [make_message(i, size) for i in range(messages)]
            accepted = [0] * threads

            def sender(t: int) -> None:
                with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                    s.ehlo("load.test")
                    for i in range(t, messages, threads):
                        s.mail("sender@load.test")
                        s.rcpt("inbox@bench.test")
                        code, _ = s.data(bodies[i])
                        if code == 250:
                            accepted[t] += 1

            start = time.perf_counter()
            workers = [threading.Thread(target=sender, args=(t,)) for t in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            accept_seconds = time.perf_counter() - start
            deadline = time.monotonic() + 300
            while counter.count < sum(accepted) and time.monotonic() < deadline:
                time.sleep(0.02)
            deliver_seconds = counter.last - start
            rss = peak_rss_kb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            counter.server.shutdown()
    if sum(accepted) != messages or counter.count < messages:
        print(f"  warning: accepted {sum(accepted)}, delivered {counter.count} of {messages}")
    return messages / accept_seconds, counter.count / deliver_seconds, rss


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, default=24 * 1024)
    args = ap.parse_args()
    versions = ", ".join(
        f"{p} {metadata.version(p)}" for p in ("aiosmtpd", "flanker", "aiohttp", "tenacity")
    )
    print(f"Python {sys.version.split()[0]}, {versions}; {os.cpu_count()} CPUs")
    print(
        f"{args.messages} messages of ~{args.size // 1024} KB"
        f" from {args.threads} SMTP connections, {args.runs} runs"
    )
    acc, dlv, rss = [], [], []
    for n in range(args.runs):
        a, d, r = one_run(args.messages, args.threads, args.size)
        acc.append(a)
        dlv.append(d)
        rss.append(r)
        print(
            f"  run {n + 1}: accepted {a:7.1f} msg/s  delivered {d:7.1f} msg/s"
            f"  peak RSS {r / 1024:6.1f} MB"
        )
    print(
        f"median: accepted {statistics.median(acc):.1f} msg/s,"
        f" delivered {statistics.median(dlv):.1f} msg/s "
        f"(end to end, signed POSTs), peak RSS {statistics.median(rss) / 1024:.1f} MB"
    )


if __name__ == "__main__":
    main()
