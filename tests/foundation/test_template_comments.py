"""Django's `{# … #}` comments end on their own line: one spread over two lines is shown on
the page as text. Longer notes use `{% comment %}`."""

from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_no_template_comment_spreads_over_two_lines():
    unclosed = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.count("{#") > line.count("#}")
    ]
    assert unclosed == [], "shown on the page as text; use {% comment %}: " + ", ".join(unclosed)
