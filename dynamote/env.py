"""Typed readers for settings taken from the environment; bad values fail at start-up.

An empty value means unset, as if the variable were absent: `DJANGO_SECURE_SSL_REDIRECT=`
keeps the default rather than turning the redirect off.
"""

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    """The value of `name` (or of the file named by `name_FILE`), None when unset or empty."""
    file_path = (os.environ.get(f"{name}_FILE") or "").strip()
    if file_path:
        try:
            value = Path(file_path).read_text()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    else:
        value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_float(name: str, default: float, *, above: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name}={value!r} is not a finite number.")
    if above is not None and number <= above:
        raise ImproperlyConfigured(f"{name}={value} must be more than {above:g}.")
    return number


def env_list(
    name: str, default: list[str] | None = None, *, pattern: str | None = None, example: str = ""
) -> list[str]:
    """Comma-separated items; with `pattern`, each item must match it in full."""
    value = _raw(name)
    if value is None:
        return list(default or [])
    items = [item.strip() for item in value.split(",") if item.strip()]
    if pattern is not None:
        for item in items:
            if not re.fullmatch(pattern, item):
                hint = f", e.g. {example}" if example else ""
                raise ImproperlyConfigured(f"{name}: {item!r} is not a valid entry{hint}.")
    return items


def env_choice(name: str, default: str, choices: list[str]) -> str:
    """One of `choices` (case-insensitive), returned as spelled in `choices`."""
    value = _raw(name)
    if value is None:
        return default
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}.")


def env_match(name: str, default: str, pattern: str, *, example: str) -> str:
    """A string that matches `pattern` in full."""
    value = _raw(name)
    if value is None:
        return default
    if not re.fullmatch(pattern, value):
        raise ImproperlyConfigured(f"{name}={value!r} is not valid, e.g. {example}.")
    return value


def env_path(name: str, default: Path) -> Path:
    """A folder path (created later when missing); a path to a file is refused."""
    value = _raw(name)
    if value is None:
        return default
    path = Path(value).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise ImproperlyConfigured(f"{name}={value!r} is not a folder.")
    return path
