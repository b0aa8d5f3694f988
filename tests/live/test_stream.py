"""The pages' server-sent event streams, read over HTTP from Dynamote served by uvicorn."""

from __future__ import annotations

import http.client
import re
import time
from collections import deque
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from access.models import Grant
from deployments import cluster, feed, mirror
from deployments.views import live
from tests.dashboard.conftest import dgd_manifest
from tests.factories import grant_role

pytestmark = pytest.mark.django_db(transaction=True)


class Stream:
    """An open event stream: its status, headers and the events read so far."""

    def __init__(self, server, path: str, cookie: str, headers: dict | None = None) -> None:
        url = urlsplit(server.url)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        self.connection.request(
            "GET",
            path,
            headers={"Cookie": cookie, "Accept": "text/event-stream", **(headers or {})},
        )
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.comments: list[str] = []

    def next_event(self, timeout: float = 8) -> dict | None:
        """The next event (id, event, data) or comment, or None when none came within `timeout`."""
        self.connection.sock.settimeout(timeout)
        event: dict = {}
        data: list[str] = []
        try:
            while True:
                line = self.response.readline().decode().rstrip("\n")
                if line == "":
                    if data or event:
                        return {**event, "data": "\n".join(data)}
                    continue
                if line.startswith(":"):
                    self.comments.append(line)
                    return {"comment": line}
                field, _, value = line.partition(": ")
                if field == "data":
                    data.append(value)
                else:
                    event[field] = value
        except TimeoutError:
            return None

    def wait_for(self, predicate, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            event = self.next_event(timeout=max(deadline - time.monotonic(), 0.1))
            if event is None:
                break
            seen.append(event.get("event"))
            if "event" in event and predicate(event):
                return event
        raise AssertionError(f"No such event within {timeout} s; saw {seen}")

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def streams(live_server):
    opened: deque[Stream] = deque()

    def open_stream(path: str, user, headers: dict | None = None) -> Stream:
        client = Client()
        client.force_login(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        stream = Stream(live_server, path, cookie, headers)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


@pytest.fixture
def fast(monkeypatch, cluster_sandbox):
    """A short cache and re-read interval, so a change shows within a second or two."""
    monkeypatch.setattr(mirror, "LIST_TTL", 0.2)
    monkeypatch.setattr(live, "REREAD_SECONDS", 0.3)
    mirror.shared_cache.clear()
    yield cluster_sandbox
    mirror.shared_cache.clear()


@pytest.fixture
def ada(db):
    user = get_user_model().objects.create_user("ada", password="ada-password-1")
    grant_role(user, "viewer")
    return user


def status_of(html: str, name: str) -> str | None:
    match = re.search(rf'data-deployment="default/{name}" data-status="(\w+)"', html)
    return match and match.group(1)


def test_a_status_change_arrives_as_the_rows_html(streams, fast, ada):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    stream = streams("/deployments/stream/?namespace=default", ada)
    assert stream.status == 200
    assert stream.response.getheader("Content-Type").startswith("text/event-stream")
    assert stream.response.getheader("Cache-Control") == "no-cache"
    assert stream.response.getheader("X-Accel-Buffering") == "no"
    stream.wait_for(lambda e: e["event"] == "oob")  # read and connected: the header's status
    fast.advance(60)  # the operator brings it up
    event = stream.wait_for(lambda e: status_of(e["data"], "llama") == "ready")
    assert event["event"] == "oob"
    assert "hx-swap-oob=\"outerHTML:tr[data-deployment='default/llama']\"" in event["data"]
    assert int(event["id"]) <= feed.feed.latest()


def test_a_deleted_deployment_leaves_the_table(streams, fast, ada):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    cluster.dgd_create(manifest=dgd_manifest("qwen"))
    fast.advance(60)
    stream = streams("/deployments/stream/?namespace=default", ada)
    stream.wait_for(lambda e: e["event"] == "oob")  # the header's status, on connecting
    cluster.dgd_delete(namespace="default", name="llama")
    fast.advance(120)  # its pods finish shutting down
    event = stream.wait_for(lambda e: e["event"] == "table" and 'default/llama"' not in e["data"])
    assert 'data-deployment="default/qwen"' in event["data"]


def test_a_quiet_stream_sends_heartbeats(streams, fast, ada, monkeypatch):
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.5)
    monkeypatch.setattr(live, "REREAD_SECONDS", 0.2)
    stream = streams("/deployments/stream/?namespace=default", ada)
    deadline = time.monotonic() + 30
    while len(stream.comments) < 2 and time.monotonic() < deadline:
        stream.next_event(timeout=20)
    assert stream.comments[:2] == [": heartbeat", ": heartbeat"]


def test_a_reconnect_redraws_only_what_changed_after_its_last_event(streams, fast, ada):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    fast.advance(60)
    mirror.dgds("default")  # the cache has it: nothing more to announce
    mirror.pods("default")
    now = feed.feed.latest()
    quiet = streams("/deployments/stream/?namespace=default", ada, {"Last-Event-ID": str(now)})
    first = quiet.wait_for(lambda e: True)
    assert first["event"] == "oob" and 'id="cluster-status"' in first["data"]
    feed.feed.publish("dgd", "default", "llama", "llama")
    behind = streams("/deployments/stream/?namespace=default", ada, {"Last-Event-ID": str(now)})
    event = behind.wait_for(lambda e: True)
    assert event["event"] == "table" and 'data-deployment="default/llama"' in event["data"]


def test_a_reconnect_older_than_the_history_redraws_everything(streams, fast, ada, monkeypatch):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    fast.advance(60)
    monkeypatch.setattr(feed.feed, "_notices", deque(maxlen=2))
    old = feed.feed.latest()
    for name in ("a", "b", "c"):  # in another namespace, dropping the history of `old`
        feed.feed.publish("dgd", "elsewhere", name, name)
    stream = streams("/deployments/stream/?namespace=default", ada, {"Last-Event-ID": str(old)})
    event = stream.wait_for(lambda e: True)
    assert event["event"] == "table" and 'data-deployment="default/llama"' in event["data"]


def test_a_stream_shows_only_the_namespaces_the_user_may_view(streams, fast, live_server):
    fast.create_namespace("team-a")
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    cluster.dgd_create(manifest=dgd_manifest("qwen", namespace="team-a"))
    fast.advance(60)
    bob = get_user_model().objects.create_user("bob", password="bob-password-1")
    Grant.objects.filter(user=bob).delete()  # not the default role everywhere
    grant_role(bob, "viewer", "team-a")
    stream = streams("/deployments/stream/?since=0", bob)
    event = stream.wait_for(lambda e: e["event"] == "table")
    assert 'data-deployment="team-a/qwen"' in event["data"]
    assert "default/llama" not in event["data"]
    refused = streams("/deployments/stream/?namespace=default", bob)
    assert refused.status == 403
    assert streams("/deployments/default/llama/stream/", bob).status == 403


def test_the_details_stream_sends_its_live_parts(streams, fast, ada):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    stream = streams("/deployments/default/llama/stream/", ada)
    stream.wait_for(lambda e: e["event"] == "oob")
    fast.advance(60)
    event = stream.wait_for(lambda e: e["event"] == "live" and 'data-badge="ready"' in e["data"])
    assert '<section id="live"' in event["data"]
    assert 'id="why-slot" hx-swap-oob="true"' in event["data"]
    assert '<span id="header-badge" hx-swap-oob="true">' in event["data"]


def test_closing_the_page_ends_the_stream(streams, fast, ada):
    stream = streams("/deployments/stream/", ada)
    stream.wait_for(lambda e: True)
    assert live.open_streams() == 1
    stream.close()
    deadline = time.monotonic() + 30
    while live.open_streams() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.open_streams() == 0


def test_every_page_gets_the_header_status_when_the_cluster_goes_away(
    streams, fast, ada, monkeypatch
):
    monkeypatch.setattr(mirror, "STATUS_TTL", 0.5)
    stream = streams("/deployments/stream/status/", ada)
    first = stream.wait_for(lambda e: e["event"] == "oob")
    assert 'data-cluster-state="connected"' in first["data"]
    fast.stop()
    event = stream.wait_for(lambda e: e["event"] == "oob")
    assert 'id="cluster-status"' in event["data"]
    assert 'data-cluster-state="unreachable"' in event["data"]


def test_a_page_drawn_before_an_outage_gets_the_banner_from_a_stream_opened_after(
    streams, fast, ada
):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    page_drawn_at = feed.feed.latest()
    cluster.dgd_list(namespace=None)
    mirror.dgds(mirror.ALL)  # the mirror is watching
    fast.stop()  # the outage begins before the page's stream connects
    stream = streams(f"/deployments/stream/?since={page_drawn_at}", ada)
    event = stream.wait_for(lambda e: "data-cluster-banner" in e["data"], timeout=10)
    assert event["event"] == "table"
