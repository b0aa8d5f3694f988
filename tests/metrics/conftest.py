"""Fixtures for the metrics history: a one-second step, and no sampler left running."""

import pytest

from deployments import metrics_sampler
from tests.fixtures.prometheus import prometheus  # noqa: F401  (the fixture)
from tests.playground.conftest import (
    FRONTEND,
    Raw,
    chat_body,
    ready_llama,  # noqa: F401  (the fixture)
)


@pytest.fixture(autouse=True)
def one_second_steps(settings):
    """A point per second, so a test sees the history grow within seconds."""
    settings.DYNAMOTE_METRICS_STEP_SECONDS = 1
    settings.DYNAMOTE_PROMETHEUS_URL = ""
    yield settings
    metrics_sampler.reset()


def chat(sandbox, content: str = "Hello there") -> None:
    """One chat with "llama", sent as a client of the deployment would: to its frontend,
    through the cluster's service proxy."""
    status, text = Raw(sandbox)(
        "POST", f"{FRONTEND}/v1/chat/completions", chat_body(content, max_tokens=8)
    )
    assert status == 200, text
