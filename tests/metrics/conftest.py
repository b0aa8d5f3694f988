"""Fixtures for the metrics history: a one-second step, and no sampler left running."""

import pytest

from deployments import metrics_sampler
from tests.fixtures.prometheus import prometheus  # noqa: F401  (the fixture)
from tests.playground.conftest import ready_llama  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def one_second_steps(settings):
    """A point per second, so a test sees the history grow within seconds."""
    settings.DYNAMOTE_METRICS_STEP_SECONDS = 1
    settings.DYNAMOTE_PROMETHEUS_URL = ""
    yield settings
    metrics_sampler.reset()


def chat(client, content: str = "Hello there", status: int = 200) -> None:
    """One chat with "llama" through Dynamote's chat API (and the frontend's service proxy)."""
    body = {"messages": [{"role": "user", "content": content}], "max_tokens": 8}
    response = client.post(
        "/api/deployments/llama/chat?namespace=default", body, content_type="application/json"
    )
    assert response.status_code == status, response.content
