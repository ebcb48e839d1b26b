"""The import rules of STYLE.md, checked with ``ast``; and the frozen public surface."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import parsers

ROOT = Path(__file__).resolve().parents[1]

# Each third-party library comes in through exactly these modules.
THIRD_PARTY = {
    "flanker": {"parsers/mime.py", "parsers/addresses.py"},
    "charset_normalizer": {"parsers/text.py"},
    "html2text": {"parsers/text.py"},
    "lingua": {"parsers/classify/language.py"},
    "aiosmtpd": {"inbound/smtp/server.py"},
    # aiohttp's server half serves the admin listener, its client half POSTs webhooks.
    "aiohttp": {"inbound/admin/server.py", "inbound/delivery/sender.py"},
    "yarl": {"inbound/delivery/sender.py"},
    "idna": {"inbound/delivery/urlguard.py"},
    "tenacity": {"inbound/delivery/schedule.py"},
    "boto3": {"inbound/storage/s3.py"},
    "botocore": {"inbound/storage/s3.py"},
    "prometheus_client": {"inbound/metrics.py"},
    "psycopg": {"inbound/outbox/postgres.py"},
    "psycopg_pool": {"inbound/outbox/postgres.py"},
    "dns": {"inbound/auth/resolver.py"},
    "spf": {"inbound/auth/spf.py"},
    "dkim": {"inbound/auth/dkim.py"},
    "publicsuffixlist": {"inbound/auth/dmarc.py"},
}
# The pure core keeps away from I/O, the service, and configuration.
PARSERS_FORBIDDEN_MODULES = {
    "inbound",
    "socket",
    "asyncio",
    "sqlite3",
    "subprocess",
    "http",
    "urllib",
    "os",
    "logging",
    "threading",
    "concurrent",
    "shutil",
    "tempfile",
    "random",
    "time",
    "pathlib",
}
# The one exception: the memo that builds the lexicons once per process takes a lock, so
# parse threads that start together do not each compile them (issue 12). It starts no
# thread and does no I/O.
PARSERS_ALLOWED = {"parsers/classify/_once.py": {"threading"}}
PARSERS_FORBIDDEN_CALLS = {"now", "utcnow", "today", "getenv", "environ"}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", _modules("parsers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_parsers_stay_pure(path: Path) -> None:
    allowed = PARSERS_ALLOWED.get(str(path.relative_to(ROOT)), set())
    for name in _imports(path):
        if name.split(".")[0] in allowed:
            continue
        assert name.split(".")[0] not in PARSERS_FORBIDDEN_MODULES, (
            f"{name} imported in the pure core"
        )
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in PARSERS_FORBIDDEN_CALLS:
            pytest.fail(
                f"{path.name}:{node.lineno} uses .{node.attr}"
                " (clocks and environment are parameters)"
            )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "open"
        ):
            pytest.fail(f"{path.name}:{node.lineno} opens a file")


@pytest.mark.parametrize(
    "path", _modules("parsers") + _modules("inbound"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_each_library_enters_through_one_module(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    for name in _imports(path):
        top = name.split(".")[0]
        if top in THIRD_PARTY:
            assert rel in THIRD_PARTY[top], (
                f"{rel} imports {top}; only {sorted(THIRD_PARTY[top])} may"
            )


@pytest.mark.parametrize("path", _modules("inbound"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_config_and_cli_read_the_environment(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    if rel in {"inbound/config.py", "inbound/cli.py"}:
        return
    source = path.read_text(encoding="utf-8")
    assert "os.environ" not in source and "getenv" not in source, f"{rel} reads the environment"


def test_smtp_edge_does_not_parse_or_classify() -> None:
    for path in (ROOT / "inbound" / "smtp").glob("*.py"):
        for name in _imports(path):
            assert not name.startswith("parsers"), (
                f"{path.name} imports {name}: the SMTP transaction stays short"
            )


def test_parsers_public_surface_is_frozen() -> None:
    assert sorted(parsers.__all__) == [
        "Address",
        "Attachment",
        "AutoReply",
        "Bounce",
        "Classification",
        "Complaint",
        "Evidence",
        "Hints",
        "Kind",
        "ParsedMessage",
        "Part",
        "Request",
        "RequestType",
        "classify",
        "parse",
    ]
    for name in parsers.__all__:
        assert hasattr(parsers, name)


def _documented_modules() -> set[str]:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return {
        line.split()[0]
        for line in page.splitlines()
        if line.strip() and line.split()[0].endswith(".py")
    }


def test_architecture_page_lists_every_module() -> None:
    """docs/architecture.md is the module tree: a module missing from it, or a line for a
    module that no longer exists, fails here (STYLE.md, Layout)."""
    modules = {
        str(path.relative_to(ROOT))
        for folder in ("parsers", "inbound", "bench")
        for path in (ROOT / folder).rglob("*.py")
    }
    documented = _documented_modules()
    assert sorted(modules - documented) == [], "modules missing from docs/architecture.md"
    assert sorted(documented - modules) == [], "docs/architecture.md lists modules that are gone"
