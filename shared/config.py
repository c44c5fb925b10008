"""The one config loader: a YAML file per service with ``${VAR:default}`` substitution.

Every leaf of a service's YAML file names the environment variable that overrides it, so the whole
configuration of a running service is visible in one file and can be changed without editing it.
Placeholders nest: ``${SUBMISSIONS_DATABASE_URL:${DATABASE_URL:sqlite:///run/submissions.sqlite}}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
SERVICES_ROOT = REPOSITORY_ROOT / "services"

_INTEGER = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?\d+\.\d+")


class ConfigError(Exception):
    """A config file is malformed or names a required variable that is not set."""


@dataclass(frozen=True)
class Placeholder:
    """One ``${VAR:default}`` occurrence as written in a config file."""

    variable: str
    default: str | None


def config_path(service: str) -> Path:
    """Path of the YAML file of ``service``."""
    return SERVICES_ROOT / service / "config.yaml"


def load_config(service: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read ``services/<service>/config.yaml`` and resolve every placeholder from ``environ``.

    Raises ConfigError when a placeholder without default names an unset variable.
    """
    return load_config_file(config_path(service), environ)


def load_config_file(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Like :func:`load_config`, for an explicit file."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    env = os.environ if environ is None else environ
    resolved = _resolve_tree(raw, env, where=str(path))
    assert isinstance(resolved, dict)
    return resolved


def placeholders_in(path: Path) -> list[Placeholder]:
    """Every placeholder a config file contains, outermost first, nested ones included."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: list[Placeholder] = []
    for text in _string_leaves(raw):
        found.extend(_placeholders(text))
    return found


def leaves_without_placeholder(path: Path) -> list[str]:
    """Dotted keys whose value cannot be overridden from the environment."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{prefix}[{index}]")
        elif not (isinstance(node, str) and node.startswith("${") and node.endswith("}")):
            missing.append(prefix)

    walk(raw, "")
    return missing


def substitute(text: str, environ: Mapping[str, str], where: str = "config") -> str:
    """Replace every ``${VAR:default}`` in ``text``; defaults may themselves hold placeholders."""
    out: list[str] = []
    position = 0
    while True:
        start = text.find("${", position)
        if start < 0:
            out.append(text[position:])
            return "".join(out)
        out.append(text[position:start])
        end = _closing_brace(text, start, where)
        out.append(_resolve_placeholder(text[start + 2 : end], environ, where))
        position = end + 1


def _resolve_placeholder(body: str, environ: Mapping[str, str], where: str) -> str:
    variable, separator, default = body.partition(":")
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", variable):
        raise ConfigError(f"{where}: '{variable}' is not a valid variable name")
    if variable in environ:
        return environ[variable]
    if not separator:
        raise ConfigError(f"{where}: the environment variable {variable} must be set")
    return substitute(default, environ, where)


def _closing_brace(text: str, start: int, where: str) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text.startswith("${", index):
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    raise ConfigError(f"{where}: unclosed placeholder in {text!r}")


def _placeholders(text: str) -> Iterator[Placeholder]:
    position = 0
    while (start := text.find("${", position)) >= 0:
        end = _closing_brace(text, start, "config")
        variable, separator, default = text[start + 2 : end].partition(":")
        yield Placeholder(variable, default if separator else None)
        if separator:
            yield from _placeholders(default)
        position = end + 1


def _string_leaves(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _string_leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _string_leaves(value)
    elif isinstance(node, str):
        yield node


def _resolve_tree(node: Any, environ: Mapping[str, str], where: str) -> Any:
    if isinstance(node, dict):
        return {key: _resolve_tree(value, environ, f"{where}:{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve_tree(value, environ, where) for value in node]
    if isinstance(node, str) and "${" in node:
        return _typed(substitute(node, environ, where))
    return node


def _typed(value: str) -> Any:
    """Give numbers and booleans their type; everything else stays the string it was."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INTEGER.fullmatch(value.strip()):
        return int(value)
    if _FLOAT.fullmatch(value.strip()):
        return float(value)
    return value
