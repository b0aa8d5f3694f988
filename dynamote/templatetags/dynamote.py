"""Template filters shared by every app."""

from django import template

register = template.Library()


@register.filter
def tokens(value: int | None) -> str:
    """A context length in tokens as people say it: 32768 -> 32K, 1048576 -> 1M."""
    if not value:
        return "-"
    if value >= 1024 * 1024 and value % (1024 * 1024) == 0:
        return f"{value // (1024 * 1024)}M"
    if value >= 1024:
        return f"{round(value / 1024)}K"
    return str(value)
