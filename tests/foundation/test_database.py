"""The database named by DATABASE_URL is the one the tests run against."""

import os

import pytest
from django.db import connection

from catalog.models import CatalogModel

pytestmark = pytest.mark.django_db


def test_tests_use_the_configured_database():
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected


def test_engine_filters_work_on_this_database():
    # JSON lists are filtered as text so that SQLite and PostgreSQL agree.
    slugs = set(
        CatalogModel.objects.filter(supported_engines__icontains='"trtllm"').values_list(
            "slug", flat=True
        )
    )
    assert "qwen2-5-vl-7b-instruct" not in slugs
    assert "llama-3-3-70b-instruct" in slugs
