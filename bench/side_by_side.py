"""Side by side under one load: Haraka, bare aiosmtpd, the naive stack and ``inbound serve``.

postfix's ``smtp-source`` sends to each system in turn (20 parallel sessions, one new
connection per message, a unique recipient per message), interleaved over several rounds
and three sizes (5 KB text, 24 KB text, 100 KB with a 48 KB PDF attached). Per system it
prints the medians of: accepted msg/s (the 250s), delivered msg/s (signed POSTs that reached
its loopback receiver, from the first SMTP connection to the last POST), CPU ms per message
over the system's whole process tree, and the tree's peak RSS; then the ratios the issue
asks about. After the rounds, one 25 MB message (18 MB attachment) shows how much each
system's RSS rises for big mail. Prints figures, asserts nothing; the machine may be
shared, so read the ratios of one run rather than the absolute figures.

What it installs when missing: Debian ``postfix`` (for ``smtp-source``; debconf preseeded
to "No configuration", and postfix is not left running) and Haraka from npm into
``/tmp/inbound-bench-haraka`` (accept-all + discard: one small plugin). The naive stack
stores raw mail in moto's S3 server on loopback.

    .venv/bin/python bench/side_by_side.py [--rounds 5] [--messages 500] [--sizes 5,24,100]
        [--inbound-variant "--processes 1"]...   # extra inbound rows, e.g. release 1's model
        [--inbound-variant "--role smtp"]   # the door alone: acceptors, no delivery workers
        [--baseline-tree ../main]...   # another checkout's inbound, side by side (before/after)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable
SECRET = "whsec_" + base64.b64encode(b"side-by-side-bench-secret-0123456").decode()
HARAKA_DIR = Path(tempfile.gettempdir()) / "inbound-bench-haraka"
SESSIONS = 20
_HZ = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- installing


def ensure_smtp_source() -> str:
    found = shutil.which("smtp-source") or (
        "/usr/sbin/smtp-source" if Path("/usr/sbin/smtp-source").exists() else None
    )
    if found:
        return found
    print("installing postfix (for smtp-source) ...", flush=True)
    subprocess.run(
        ["debconf-set-selections"],
        input=b"postfix postfix/main_mailer_type select No configuration\n",
        check=True,
    )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "postfix"], check=True, env=env, capture_output=True
    )
    # Not left running: only its test client is wanted.
    subprocess.run(["postfix", "stop"], check=False, capture_output=True)
    return "/usr/sbin/smtp-source"


_HARAKA_PLUGIN = """// bench: accept every recipient, then discard the message (queue = OK).
exports.hook_rcpt = function (next) { next(OK); };
exports.hook_queue = function (next) { next(OK); };
"""


def ensure_haraka(nodes: str) -> Path:
    """Haraka from npm in a temp dir; an instance with the accept-all + discard plugin."""
    binary = HARAKA_DIR / "node_modules" / ".bin" / "haraka"
    if not binary.exists():
        print("installing Haraka from npm ...", flush=True)
        HARAKA_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "Haraka"],
            cwd=HARAKA_DIR,
            check=True,
            capture_output=True,
        )
    inst = HARAKA_DIR / "inst"
    if not inst.exists():
        subprocess.run([str(binary), "-i", str(inst)], check=True, capture_output=True)
    (inst / "plugins" / "bench_sink.js").write_text(_HARAKA_PLUGIN)
    (inst / "config" / "plugins").write_text("bench_sink\n")
    (inst / "config" / "log.ini").write_text("[main]\nlevel=warn\n")
    (inst / "config" / "smtp.ini").write_text(f"listen=127.0.0.1:{{port}}\nnodes={nodes}\n")
    return inst


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def cpu_seconds(root: int) -> float:
    """User + system CPU of the tree, children already reaped included."""
    total = 0
    for pid in tree(root):
        fields = _stat(pid)
        if fields is None:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if pid == root:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / _HZ


def rss_bytes(root: int) -> int:
    total = 0
    for pid in tree(root):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        except OSError:
            continue
    return total


def pss_bytes(root: int) -> int:
    """Proportional set size of the tree: pages shared by forked children counted once."""
    total = 0
    for pid in tree(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


class Peak:
    """Samples a tree's RSS and PSS every 50 ms in a thread; keeps the highest sums seen."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak = rss_bytes(root)
        self.peak_pss = pss_bytes(root)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_bytes(self.root))
            self.peak_pss = max(self.peak_pss, pss_bytes(self.root))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [PY, str(HERE / "receiver.py"), "--port", str(self.port), "--secret", SECRET]
        )
        wait_port(self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def counts(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/count", timeout=10) as r:
            counts: dict[str, Any] = json.load(r)
            return counts

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def wait_port(
    port: int, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@dataclass
class System:
    name: str
    argv: Callable[[int], list[str]]
    delivers: bool
    cwd: Path | None = None
    receiver: Receiver | None = None
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    results: dict[int, list[dict[str, float]]] = field(default_factory=dict)
    big: dict[str, float] = field(default_factory=dict)

    def start(self, logs: Path) -> None:
        self.port = free_port()
        log = (logs / f"{self.name.replace(' ', '_')}.log").open("wb")
        self.proc = subprocess.Popen(
            self.argv(self.port), cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT
        )
        wait_port(self.port, proc=self.proc)
        time.sleep(1.0)  # every child up (the port opens with the first)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def delivered(self) -> tuple[int, float]:
        if self.receiver is None:
            return 0, 0.0
        c = self.receiver.counts()
        return int(c["count"]), float(c["last"])


# ---------------------------------------------------------------- mail


_PARAGRAPH = (
    "Hello, thank you for your quick answer yesterday. I looked at the invoice again and "
    "the amount for the second month still looks wrong to me: we cancelled the extra seats "
    "in March, and the confirmation said the change would apply at once. Could you check "
    "it and send me a corrected copy? We would also like to know whether the annual plan "
    "can start next month instead of in June.\n"
)


def message_file(size_kb: int, folder: Path) -> Path:
    """One message of about ``size_kb`` KB; the 100 KB one carries a 48 KB PDF."""
    m = EmailMessage()
    m["From"] = "Jana Novak <jana@customer.test>"
    m["To"] = "Support <inbox@bench.test>"
    m["Subject"] = "Re: Invoice 1042 for March"
    m["Date"] = "Fri, 04 Dec 2026 10:00:00 +0000"
    m["Message-ID"] = make_msgid(domain="customer.test")
    pdf_size = 48 * 1024 if size_kb >= 100 else 0
    text_bytes = size_kb * 1024 - (pdf_size * 4 // 3) - 600
    body = (_PARAGRAPH * (max(text_bytes, 200) // len(_PARAGRAPH) + 1))[: max(text_bytes, 200)]
    quoted = "\n".join("> " + line for line in _PARAGRAPH.splitlines())
    m.set_content(body + "\n\nOn Thu, Support wrote:\n" + quoted + "\n")
    if pdf_size:
        pdf = b"%PDF-1.4\n" + os.urandom(pdf_size - 20) + b"\n%%EOF\n"
        m.add_attachment(pdf, maintype="application", subtype="pdf", filename="invoice-1042.pdf")
    path = folder / f"msg-{size_kb}k.eml"
    # smtp-source -F appends CRLF to each line itself.
    path.write_bytes(m.as_bytes().replace(b"\r\n", b"\n"))
    return path


def big_message(megabytes: int = 25, attachment_mb: int = 18) -> bytes:
    m = EmailMessage()
    m["From"] = "Jana Novak <jana@customer.test>"
    m["To"] = "inbox@bench.test"
    m["Subject"] = "The scans you asked for"
    m["Message-ID"] = make_msgid(domain="customer.test")
    text_size = (megabytes - attachment_mb * 4 // 3) * 1024 * 1024
    m.set_content((_PARAGRAPH * (text_size // len(_PARAGRAPH) + 1))[:text_size])
    m.add_attachment(
        os.urandom(attachment_mb * 1024 * 1024),
        maintype="application",
        subtype="octet-stream",
        filename="scans.bin",
    )
    return m.as_bytes(policy=policy.SMTP)  # CRLF: smtplib sends bytes as they are


# ---------------------------------------------------------------- measuring


def run_load(system: System, smtp_source: str, eml: Path, messages: int) -> dict[str, float]:
    assert system.proc is not None
    pid = system.proc.pid
    d0, _ = system.delivered()
    c0 = cpu_seconds(pid)
    peak = Peak(pid)
    t0 = time.monotonic()
    run = subprocess.run(
        [
            smtp_source,
            "-s",
            str(SESSIONS),
            "-m",
            str(messages),
            "-N",
            "-F",
            str(eml),
            "-f",
            "load@sender.test",
            "-t",
            "inbox@bench.test",
            "-M",
            "client.test",
            f"127.0.0.1:{system.port}",
        ],
        capture_output=True,
        check=False,
    )
    t1 = time.monotonic()
    if run.returncode != 0:
        print(f"  {system.name}: smtp-source failed: {run.stderr.decode()[-300:]}", flush=True)
    out: dict[str, float] = {"accepted": messages / (t1 - t0)}
    if system.delivers:
        deadline = time.monotonic() + 300
        last = t1
        while time.monotonic() < deadline:
            count, last = system.delivered()
            if count - d0 >= messages:
                break
            time.sleep(0.05)
        else:
            print(f"  {system.name}: only {count - d0} of {messages} delivered", flush=True)
        out["delivered"] = (count - d0) / (max(last, t1) - t0)
        time.sleep(0.5)  # the last records land
    cpu = cpu_seconds(pid) - c0
    out["cpu_ms"] = cpu * 1000 / messages
    out["rss_mb"] = peak.stop() / 1e6
    out["pss_mb"] = peak.peak_pss / 1e6
    return out


def run_big(system: System) -> None:
    """One 25 MB message: how far the tree's RSS rises above its idle level."""
    assert system.proc is not None
    raw = big_message()
    time.sleep(1.0)
    base = max(rss_bytes(system.proc.pid) for _ in range(5))
    base_pss = max(pss_bytes(system.proc.pid) for _ in range(5))
    d0, _ = system.delivered()
    peak = Peak(system.proc.pid)
    with smtplib.SMTP("127.0.0.1", system.port, timeout=300) as s:
        s.sendmail("load@sender.test", ["inbox@bench.test"], raw)
    if system.delivers:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and system.delivered()[0] <= d0:
            time.sleep(0.05)
    time.sleep(1.0)
    top = peak.stop()
    system.big = {
        "rise_mb": (top - base) / 1e6,
        "ratio": (top - base) / len(raw),
        "pss_ratio": (peak.peak_pss - base_pss) / len(raw),
    }


# ---------------------------------------------------------------- systems


def systems(work: Path, args: argparse.Namespace, moto_url: str) -> list[System]:
    inst = ensure_haraka(args.haraka_nodes)
    haraka_smtp_ini = (inst / "config" / "smtp.ini").read_text()

    def haraka(port: int) -> list[str]:
        (inst / "config" / "smtp.ini").write_text(haraka_smtp_ini.replace("{port}", str(port)))
        return [str(HARAKA_DIR / "node_modules" / ".bin" / "haraka"), "-c", str(inst)]

    def naive(discard: bool) -> Callable[[int], list[str]]:
        def argv(port: int) -> list[str]:
            cmd = [PY, str(HERE / "naive_stack.py"), "--port", str(port)]
            cmd += ["--spool", str(work / f"naive-spool-{port}")]
            if discard:
                return [*cmd, "--discard"]
            assert naive_system.receiver is not None
            return [*cmd, "--s3", moto_url, "--webhook", naive_system.receiver.url]

        return argv

    config = work / "inbound.toml"
    config.write_text(
        "[server]\nmax_messages_per_minute_per_ip = 0\nmax_connections_per_ip = 1000\n"
        'hostname = "mx.bench.test"\n[log]\nlevel = "WARNING"\n'
    )

    def inbound(extra: list[str], system: list[System]) -> Callable[[int], list[str]]:
        def argv(port: int) -> list[str]:
            receiver = system[0].receiver
            assert receiver is not None
            data = work / f"inbound-data-{port}"
            return [
                PY,
                "-m",
                "inbound",
                "serve",
                "--config",
                str(config),
                "--listen",
                f"127.0.0.1:{port}",
                "--data-dir",
                str(data),
                "--domain",
                "bench.test",
                "--webhook",
                receiver.url,
                "--secret",
                SECRET,
                *extra,
            ]

        return argv

    naive_system = System("naive stack", lambda p: [], delivers=True, receiver=Receiver())
    naive_system.argv = naive(False)
    out = [
        System(f"Haraka (nodes={args.haraka_nodes})", haraka, delivers=False),
        System("aiosmtpd, handler 250", naive(True), delivers=False),
        naive_system,
    ]
    for variant in ["", *args.inbound_variant]:
        holder: list[System] = []
        name = "inbound serve" + (f" {variant}" if variant else "")
        # "--role smtp": the acceptors alone (the door), nothing delivers on that node.
        door_only = "--role smtp" in variant
        system = System(
            name, inbound(variant.split(), holder), delivers=not door_only, receiver=Receiver()
        )
        holder.append(system)
        out.append(system)
    for tree in args.baseline_tree:
        # Another checkout's inbound (e.g. main before a change), run from its directory:
        # ``python -m inbound`` puts the working directory first on sys.path.
        holder = []
        root = Path(tree).resolve()
        system = System(
            f"inbound serve @{root.name}",
            inbound([], holder),
            delivers=True,
            cwd=root,
            receiver=Receiver(),
        )
        holder.append(system)
        out.append(system)
    return out


def start_moto(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    moto = Path(PY).with_name("moto_server")
    log = (work / "moto.log").open("wb")
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    wait_port(port, proc=proc)
    url = f"http://127.0.0.1:{port}"
    import boto3

    boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106  (moto on loopback)
    ).create_bucket(Bucket="naive")
    return proc, url


# ---------------------------------------------------------------- report


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(all_systems: list[System], sizes: list[int]) -> None:
    naive = next(s for s in all_systems if s.name == "naive stack")
    haraka = all_systems[0]
    for size in sizes:
        print(f"\n## {size} KB message (medians)\n")
        print(
            "| system | accepted msg/s | delivered msg/s | CPU ms per message"
            " | peak RSS MB (sum) | peak PSS MB |"
        )
        print("|---|---|---|---|---|---|")
        for s in all_systems:
            rows = s.results.get(size, [])
            delivered = (
                f"{med([r['delivered'] for r in rows]):.0f}"
                if s.delivers
                else ("(queued)" if s.name.startswith("inbound") else "(discards)")
            )
            print(
                f"| {s.name} | {med([r['accepted'] for r in rows]):.0f} | {delivered} |"
                f" {med([r['cpu_ms'] for r in rows]):.1f} | {med([r['rss_mb'] for r in rows]):.0f}"
                f" | {med([r['pss_mb'] for r in rows]):.0f} |"
            )
        for s in all_systems[3:]:
            rows = s.results.get(size, [])
            a = med([r["accepted"] for r in rows]) / med(
                [r["accepted"] for r in haraka.results[size]]
            )
            if not s.delivers:
                print(f"\n{s.name}: accepted {a:.2f}x Haraka (no delivery on this node)")
                continue
            d = med([r["delivered"] for r in rows]) / med(
                [r["delivered"] for r in naive.results[size]]
            )
            print(f"\n{s.name}: delivered {d:.2f}x the naive stack; accepted {a:.2f}x Haraka")
    print("\n## one 25 MB message (18 MB attachment): rise of the peak RSS of all processes\n")
    for s in all_systems[1:]:
        if s.big:
            print(
                f"- {s.name}: +{s.big['rise_mb']:.0f} MB = {s.big['ratio']:.1f}x the message"
                f" (PSS: {s.big['pss_ratio']:.1f}x)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--sizes", default="5,24,100")
    parser.add_argument("--haraka-nodes", default="cpus", help="Haraka's smtp.ini nodes=")
    parser.add_argument("--inbound-variant", action="append", default=[])
    parser.add_argument(
        "--baseline-tree",
        action="append",
        default=[],
        help="another checkout of inbound to run as one more system (before/after)",
    )
    parser.add_argument("--no-big", action="store_true", help="skip the 25 MB message")
    parser.add_argument("--only", default="", help="comma-separated system name prefixes")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    smtp_source = ensure_smtp_source()
    versions = ", ".join(
        f"{p} {metadata.version(p)}" for p in ("aiosmtpd", "httpx", "flanker", "boto3")
    )
    print(f"python {sys.version.split()[0]}; {versions}; {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="inbound-side-by-side-") as tmp:
        work = Path(tmp)
        moto, moto_url = start_moto(work)
        emls = {size: message_file(size, work) for size in sizes}
        everything = systems(work, args, moto_url)
        if args.only:
            wanted = tuple(args.only.split(","))
            everything = [s for s in everything if s.name.startswith(wanted)]
        try:
            for s in everything:
                s.start(work)
            for r in range(args.rounds):
                order = everything[r % len(everything) :] + everything[: r % len(everything)]
                for size in sizes:
                    for s in order:
                        result = run_load(s, smtp_source, emls[size], args.messages)
                        s.results.setdefault(size, []).append(result)
                        print(
                            f"round {r + 1} {size:>3} KB {s.name:<28}"
                            + "  ".join(f"{k} {v:7.1f}" for k, v in result.items()),
                            flush=True,
                        )
            if not args.no_big:
                for s in everything:
                    if not s.name.startswith("Haraka"):
                        run_big(s)
        finally:
            for s in everything:
                s.stop()
                if s.receiver is not None:
                    s.receiver.stop()
            moto.terminate()
            moto.wait(10)
        if everything and everything[0].name.startswith("Haraka") and len(everything) > 3:
            report(everything, sizes)
        else:
            for s in everything:
                for size, rows in s.results.items():
                    keys = rows[0].keys()
                    print(s.name, size, {k: round(med([r[k] for r in rows]), 1) for k in keys})
                if s.big:
                    print(s.name, "25 MB", s.big)


if __name__ == "__main__":
    main()
