"""Typed readers for configuration values: each failure names the key (ConfigError).

Generic and small on purpose: what the keys mean lives in inbound/config.py; this only
turns TOML and environment values into checked Python values.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inbound.errors import ConfigError


def check_keys(raw: Mapping[str, Any], schema: Mapping[str, Any], prefix: str) -> None:
    """Unknown keys are errors (a typo must not silently fall back to a default)."""
    for key, value in raw.items():
        where = f"{prefix}.{key}" if prefix else key
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError(where, f"unknown key (known here: {known})")
        sub = schema[key]
        if isinstance(sub, dict) and sub:
            if not isinstance(value, dict):
                raise ConfigError(where, f"must be a table, not {type(value).__name__}")
            check_keys(value, sub, where)


class Tree:
    """The top level of a config file, handing out its tables."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def table(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(name, f"must be a table, not {type(value).__name__}")
        return value


def env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value not in (None, "") else None


def env_int(environ: Mapping[str, str], name: str) -> int | None:
    value = env(environ, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(name, f"must be an integer, not {value!r}") from None


def string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, not {type(value).__name__}")
    return value


def integer(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise ConfigError(key, f"must be at least {minimum}, not {value}")
    return value


def number(value: Any, key: str, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"must be a number, not {type(value).__name__}")
    if value < minimum:
        raise ConfigError(key, f"must be at least {minimum}, not {value}")
    return float(value)


def boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, not {type(value).__name__}")
    return value


def boolean_text(value: str, key: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(key, f"must be 1/true or 0/false, not {value!r}")


def array(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ConfigError(key, f"must be an array, not {type(value).__name__}")
    return list(value)


def optional_path(value: Any, key: str) -> Path | None:
    return None if value is None else Path(string(value, key))
