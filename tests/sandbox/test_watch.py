"""Watches on the sandbox, through the official client's watch.Watch and plain HTTP."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
from collections.abc import Callable

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from sandbox.store import HISTORY
from tests.fixtures.sandbox import sandbox_api_client

from .manifests import GROUP, PLURAL, dgd_v1beta1


@pytest.fixture
def api(sandbox):
    return sandbox_api_client(sandbox)


@pytest.fixture
def dgds(api):
    return client.CustomObjectsApi(api)


@pytest.fixture
def core(api):
    return client.CoreV1Api(api)


class Watcher:
    """Runs watch.Watch().stream in a thread and keeps what it receives."""

    def __init__(self, func: Callable, *args, **kwargs) -> None:
        kwargs.setdefault("timeout_seconds", 20)
        self.events: list[dict] = []
        self.error: Exception | None = None
        self.watch = watch.Watch()
        self.thread = threading.Thread(target=self._run, args=(func, args, kwargs), daemon=True)
        self.thread.start()

    def _run(self, func: Callable, args: tuple, kwargs: dict) -> None:
        try:
            for event in self.watch.stream(func, *args, **kwargs):
                self.events.append(event)
        except Exception as err:  # kept for the test to assert on
            self.error = err

    def wait_for(self, predicate: Callable[[list[dict]], bool], seconds: float = 10) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate(self.events):
                return True
            time.sleep(0.02)
        return predicate(self.events)

    def finish(self, seconds: float = 10) -> None:
        self.thread.join(seconds)
        assert not self.thread.is_alive(), "the watch did not end"

    def types(self, name: str | None = None) -> list[str]:
        return [
            e["type"]
            for e in self.events
            if name is None or e["raw_object"]["metadata"].get("name") == name
        ]


def dgd_list_rv(dgds, version: str = "v1beta1") -> str:
    return dgds.list_namespaced_custom_object(GROUP, version, "default", PLURAL)["metadata"][
        "resourceVersion"
    ]


def create(dgds, name: str = "qwen", labels: dict | None = None) -> dict:
    body = dgd_v1beta1(name)
    body["metadata"]["labels"].update(labels or {})
    return dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)


def watch_dgds(dgds, version: str = "v1beta1", **kwargs) -> Watcher:
    return Watcher(dgds.list_namespaced_custom_object, GROUP, version, "default", PLURAL, **kwargs)


def raw_watch(sandbox, path: str, accept: str = "application/json") -> list[dict]:
    """Every event of a watch read to its end with urllib."""
    request = urllib.request.Request(
        f"{sandbox.url}{path}",
        headers={"Authorization": f"Bearer {sandbox.token}", "Accept": accept},
    )
    with urllib.request.urlopen(request, timeout=10, context=sandbox.ssl_context()) as answer:
        assert answer.headers["Transfer-Encoding"] == "chunked"
        return [json.loads(line) for line in answer.read().splitlines() if line.strip()]


def server_threads() -> int:
    return sum(1 for t in threading.enumerate() if "process_request_thread" in t.name)


def wait_until(predicate: Callable[[], bool], seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def state(event: dict) -> str | None:
    return (event["raw_object"].get("status") or {}).get("state")


# ---------------------------------------------------------------- events and versions


def test_a_watch_sees_the_operator_bring_a_dgd_up(sandbox, dgds):
    watcher = watch_dgds(dgds, resource_version=dgd_list_rv(dgds))
    create(dgds)
    sandbox.advance(120)
    assert watcher.wait_for(lambda events: any(state(e) == "successful" for e in events))
    assert watcher.types()[0] == "ADDED"
    # The operator's finalizer and status writes arrive as MODIFIED events, in order.
    assert set(watcher.types()[1:]) == {"MODIFIED"}
    versions = [int(e["raw_object"]["metadata"]["resourceVersion"]) for e in watcher.events]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    watcher.watch.stop()


def test_a_pod_watch_sees_pods_created_and_becoming_ready(sandbox, dgds, core):
    start = core.list_namespaced_pod("default").metadata.resource_version
    watcher = Watcher(core.list_namespaced_pod, "default", resource_version=start)
    create(dgds)
    sandbox.advance(120)

    def ready(events: list[dict]) -> bool:
        return any(
            e["type"] == "MODIFIED"
            and e["object"].status.container_statuses
            and e["object"].status.container_statuses[0].ready
            for e in events
        )

    assert watcher.wait_for(ready)
    assert watcher.types()[0] == "ADDED"
    assert isinstance(watcher.events[0]["object"], client.V1Pod)


def test_without_a_resource_version_the_current_objects_come_first_as_added(sandbox, dgds):
    create(dgds, "first")
    create(dgds, "second")
    watcher = watch_dgds(dgds)
    assert watcher.wait_for(lambda events: len(events) >= 2)
    assert [(e["type"], e["raw_object"]["metadata"]["name"]) for e in watcher.events[:2]] == [
        ("ADDED", "first"),
        ("ADDED", "second"),
    ]
    create(dgds, "third")
    assert watcher.wait_for(
        lambda events: "third" in [e["raw_object"]["metadata"]["name"] for e in events]
    )


def test_a_watch_resumes_after_a_resource_version(sandbox, dgds):
    start = dgd_list_rv(dgds)
    create(dgds)
    sandbox.advance(120)
    everything = raw_watch(
        sandbox,
        f"/apis/{GROUP}/v1beta1/namespaces/default/{PLURAL}?watch=1&resourceVersion={start}"
        "&timeoutSeconds=1",
    )
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in everything]
    assert len(versions) > 3 and versions == sorted(versions)
    middle = versions[1]
    resumed = raw_watch(
        sandbox,
        f"/apis/{GROUP}/v1beta1/namespaces/default/{PLURAL}?watch=true&resourceVersion={middle}"
        "&timeoutSeconds=1",
    )
    assert [e["object"]["metadata"]["resourceVersion"] for e in resumed] == [
        str(v) for v in versions[2:]
    ]


def test_a_too_old_resource_version_gets_410_expired(sandbox, core):
    old = core.list_namespaced_pod("default").metadata.resource_version
    for index in range(HISTORY + 1):
        sandbox.create_secret("default", f"filler-{index}", {"k": "v"})
    events = raw_watch(
        sandbox, f"/api/v1/namespaces/default/pods?watch=1&resourceVersion={old}&timeoutSeconds=1"
    )
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert f"too old resource version: {old}" in status["message"]
    # The official client retries once from the same version, then gives up with 410.
    with pytest.raises(ApiException) as raised:
        for _ in watch.Watch().stream(core.list_namespaced_pod, "default", resource_version=old):
            pass
    assert raised.value.status == 410


def test_bookmarks_carry_only_the_resource_version(sandbox, dgds):
    sandbox.api.bookmark_interval = 0.2
    create(dgds)
    latest = dgd_list_rv(dgds)
    watcher = watch_dgds(
        dgds, resource_version=latest, allow_watch_bookmarks=True, timeout_seconds=1
    )
    watcher.finish()
    bookmarks = [e for e in watcher.events if e["type"] == "BOOKMARK"]
    assert bookmarks
    assert bookmarks[0]["raw_object"] == {
        "kind": "DynamoGraphDeployment",
        "apiVersion": "nvidia.com/v1beta1",
        "metadata": {"resourceVersion": latest},
    }


def test_without_bookmarks_asked_none_are_sent(sandbox, dgds):
    sandbox.api.bookmark_interval = 0.2
    watcher = watch_dgds(dgds, resource_version=dgd_list_rv(dgds), timeout_seconds=1)
    watcher.finish()
    assert watcher.events == []


def test_timeout_seconds_ends_the_stream(sandbox, dgds):
    started = time.monotonic()
    watcher = watch_dgds(dgds, resource_version=dgd_list_rv(dgds), timeout_seconds=1)
    watcher.finish(seconds=5)
    assert 0.9 <= time.monotonic() - started < 4
    assert watcher.error is None


def test_send_initial_events_marks_the_end_of_the_current_objects(sandbox, dgds):
    create(dgds, "first")
    latest = dgd_list_rv(dgds)
    events = raw_watch(
        sandbox,
        f"/apis/{GROUP}/v1beta1/namespaces/default/{PLURAL}?watch=1&sendInitialEvents=true"
        f"&allowWatchBookmarks=true&resourceVersion={latest}&resourceVersionMatch=NotOlderThan"
        "&timeoutSeconds=1",
    )
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK", "BOOKMARK"]
    assert events[0]["object"]["metadata"]["name"] == "first"
    assert events[1]["object"]["metadata"] == {
        "resourceVersion": latest,
        "annotations": {"k8s.io/initial-events-end": "true"},
    }


def test_a_bad_resource_version_is_a_400(sandbox):
    with pytest.raises(urllib.error.HTTPError) as raised:
        raw_watch(sandbox, "/api/v1/namespaces/default/pods?watch=1&resourceVersion=abc")
    assert raised.value.code == 400


# ---------------------------------------------------------------- selectors, versions, RBAC


def test_a_label_selector_sends_an_object_that_stops_matching_as_deleted(sandbox, dgds):
    create(dgds, "qwen", {"team": "a"})
    create(dgds, "other", {"team": "b"})
    watcher = watch_dgds(dgds, label_selector="team=a")
    assert watcher.wait_for(lambda events: len(events) == 1)

    def relabel(team: str) -> None:
        patch = {"metadata": {"labels": {"team": team}}}
        dgds.patch_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", patch)

    relabel("b")
    assert watcher.wait_for(lambda events: len(events) == 2)
    relabel("a")
    assert watcher.wait_for(lambda events: len(events) == 3)
    dgds.patch_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, "other", {"metadata": {"labels": {"x": "y"}}}
    )
    time.sleep(0.3)
    assert watcher.types() == ["ADDED", "DELETED", "ADDED"]
    assert {e["raw_object"]["metadata"]["name"] for e in watcher.events} == {"qwen"}


def test_a_field_selector_filters_the_watch(sandbox, dgds):
    watcher = watch_dgds(
        dgds, resource_version=dgd_list_rv(dgds), field_selector="metadata.name=qwen"
    )
    create(dgds, "other")
    create(dgds, "qwen")
    assert watcher.wait_for(lambda events: len(events) >= 1)
    time.sleep(0.3)
    assert {e["raw_object"]["metadata"]["name"] for e in watcher.events} == {"qwen"}


def test_a_dgd_watched_in_another_served_version_is_converted(sandbox, dgds):
    watcher = watch_dgds(dgds, "v1alpha1", resource_version=dgd_list_rv(dgds, "v1alpha1"))
    create(dgds)
    assert watcher.wait_for(lambda events: len(events) >= 1)
    added = watcher.events[0]["raw_object"]
    assert added["apiVersion"] == "nvidia.com/v1alpha1"
    assert "services" in added["spec"] and "components" not in added["spec"]


def test_watch_needs_the_watch_verb(sandbox, dgds):
    sandbox.set_permissions([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}])
    dgds.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)
    with pytest.raises(ApiException) as raised:
        for _ in watch.Watch().stream(
            dgds.list_namespaced_custom_object,
            GROUP,
            "v1beta1",
            "default",
            PLURAL,
            timeout_seconds=1,
        ):
            pass
    assert raised.value.status == 403
    message = json.loads(raised.value.body)["message"]
    assert 'cannot watch resource "dynamographdeployments"' in message


def test_discovery_says_every_listable_resource_can_be_watched(api):
    core_resources = client.CoreV1Api(api).get_api_resources().resources
    for resource in core_resources:
        if "list" in resource.verbs:
            assert "watch" in resource.verbs, resource.name
    custom = client.CustomObjectsApi(api).get_api_resources(GROUP, "v1beta1")
    assert "watch" in next(r for r in custom.resources if r.name == PLURAL).verbs


@pytest.mark.parametrize(
    ("list_call", "change"),
    [
        (
            lambda core: core.list_namespace,
            lambda sandbox: sandbox.create_namespace("new-team"),
        ),
        (lambda core: core.list_node, lambda sandbox: sandbox.add_node("gpu-extra")),
        (
            lambda core: core.list_secret_for_all_namespaces,
            lambda sandbox: sandbox.create_secret("dynamo", "new-secret", {"k": "v"}),
        ),
    ],
    ids=["namespaces", "nodes", "secrets"],
)
def test_core_lists_can_be_watched(sandbox, core, list_call, change):
    func = list_call(core)
    start = func().metadata.resource_version
    watcher = Watcher(func, resource_version=start)
    change(sandbox)
    assert watcher.wait_for(lambda events: watcher.types() == ["ADDED"])


def test_secrets_watched_as_metadata_carry_no_data(sandbox):
    sandbox.create_secret("default", "hf-token-secret", {"HF_TOKEN": "hf_very_secret"})
    events = raw_watch(
        sandbox,
        "/api/v1/namespaces/default/secrets?watch=1&timeoutSeconds=1",
        accept="application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
    )
    assert events and all(e["object"]["kind"] == "PartialObjectMetadata" for e in events)
    assert "hf-token-secret" in {e["object"]["metadata"]["name"] for e in events}
    assert "hf_very_secret" not in json.dumps(events)
    assert all("data" not in e["object"] for e in events)


def test_services_and_events_of_a_dgd_can_be_watched(sandbox, dgds, core):
    services = Watcher(
        core.list_namespaced_service,
        "default",
        resource_version=core.list_namespaced_service("default").metadata.resource_version,
    )
    events = Watcher(
        core.list_namespaced_event,
        "default",
        resource_version=core.list_namespaced_event("default").metadata.resource_version,
        field_selector="reason=Scheduled",
    )
    create(dgds)
    sandbox.advance(120)
    assert services.wait_for(lambda found: "ADDED" in services.types("qwen-frontend"))
    assert events.wait_for(lambda found: len(found) >= 2)
    assert {e["object"].reason for e in events.events} == {"Scheduled"}


# ---------------------------------------------------------------- deletion


def test_a_deleted_dgd_is_deleted_for_watches_only_when_its_pods_are_gone(sandbox, dgds):
    create(dgds)
    sandbox.advance(120)
    watcher = watch_dgds(dgds, resource_version=dgd_list_rv(dgds))
    dgds.delete_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    sandbox.advance(1)
    assert watcher.wait_for(
        lambda events: any(e["raw_object"]["metadata"].get("deletionTimestamp") for e in events)
    )
    assert "DELETED" not in watcher.types()
    for _ in range(60):
        sandbox.advance(5)
        if watcher.wait_for(lambda events: "DELETED" in watcher.types(), seconds=0.2):
            break
    assert watcher.types()[-1] == "DELETED"
    last = [int(e["raw_object"]["metadata"]["resourceVersion"]) for e in watcher.events]
    assert last[-1] > last[-2], "a DELETED event has its own resourceVersion"


# ---------------------------------------------------------------- ending watches


def open_raw_watch(sandbox, path: str) -> http.client.HTTPConnection:
    host, port = sandbox.host, sandbox.port
    if sandbox.tls:
        connection = http.client.HTTPSConnection(host, port, context=sandbox.ssl_context())
    else:
        connection = http.client.HTTPConnection(host, port)
    connection.request("GET", path, headers={"Authorization": f"Bearer {sandbox.token}"})
    answer = connection.getresponse()
    assert answer.status == 200
    return connection


def test_a_client_hanging_up_ends_its_watch(sandbox):
    connections = [
        open_raw_watch(sandbox, "/api/v1/namespaces/default/pods?watch=1") for _ in range(3)
    ]
    assert wait_until(lambda: sandbox.api.watching == 3)
    for connection in connections:
        connection.sock.close()
        connection.close()
    assert wait_until(lambda: sandbox.api.watching == 0, seconds=5)


def test_an_outage_drops_open_watches(sandbox, dgds):
    # With timeoutSeconds the official client does not resume: the stream must just end.
    watcher = watch_dgds(dgds, resource_version=dgd_list_rv(dgds), timeout_seconds=600)
    assert wait_until(lambda: sandbox.api.watching == 1)
    sandbox.api.apply_faults({"outage": 2})
    watcher.finish(seconds=5)
    assert sandbox.api.watching == 0
    assert watcher.error is not None, "the client sees the watch cut, not ended"


def test_closing_the_sandbox_with_open_watches_does_not_hang(make_sandbox):
    sandbox = make_sandbox()
    connections = [open_raw_watch(sandbox, "/api/v1/pods?watch=1") for _ in range(5)]
    assert wait_until(lambda: sandbox.api.watching == 5)
    threads = server_threads()
    started = time.monotonic()
    sandbox.close()
    assert time.monotonic() - started < 3
    assert wait_until(lambda: sandbox.api.watching == 0)
    assert wait_until(lambda: server_threads() <= threads - 5)
    for connection in connections:
        connection.close()
