"""What Kubernetes lets a namespace and an object be called (pure, no I/O)."""

import re

NAMESPACE_MAX = 63
NAME_MAX = 253

_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
# For URL patterns: the shapes only; the converters check the lengths.
NAMESPACE_PATTERN = _LABEL
NAME_PATTERN = _SUBDOMAIN

NAMESPACE_RULE = (
    f"A namespace is at most {NAMESPACE_MAX} lowercase letters, digits and '-', "
    "starting and ending with a letter or digit."
)
NAME_RULE = (
    f"A name is at most {NAME_MAX} lowercase letters, digits, '-' and '.', "
    "starting and ending with a letter or digit."
)


def is_namespace(value: object) -> bool:
    """Whether value is a valid namespace name (a DNS-1123 label)."""
    return (
        isinstance(value, str)
        and len(value) <= NAMESPACE_MAX
        and re.fullmatch(_LABEL, value) is not None
    )


def is_name(value: object) -> bool:
    """Whether value is a valid object name (a DNS-1123 subdomain): never '.', '..' or ''."""
    return (
        isinstance(value, str)
        and len(value) <= NAME_MAX
        and re.fullmatch(_SUBDOMAIN, value) is not None
    )
