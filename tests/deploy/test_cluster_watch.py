"""Watching DGDs and pods through the cluster module, against the sandbox."""

import threading
import time

import pytest

from deployments import cluster
from sandbox.store import HISTORY
from tests.sandbox.manifests import dgd_v1beta1

OWNER = "nvidia.com/dynamo-graph-deployment-name"


def create(name="qwen"):
    body = dgd_v1beta1(name)
    body["metadata"]["namespace"] = "default"
    cluster.dgd_create(manifest=body)


def test_a_dgd_watch_replays_the_changes_after_a_listing(cluster_sandbox):
    items, version = cluster.dgd_listing(namespace="default")
    assert items == [] and int(version) > 0
    create()
    cluster_sandbox.advance(120)
    events = list(
        cluster.dgd_watch(namespace="default", resource_version=version, timeout_seconds=1)
    )
    *changes, (last, bookmark) = events
    # (The tests' sandbox also bookmarks each batch of changes, as etcd's progress notices.)
    changes = [(kind, obj) for kind, obj in changes if kind != "BOOKMARK"]
    assert changes[0][0] == "ADDED"
    assert {kind for kind, _ in changes[1:]} == {"MODIFIED"}
    assert all(isinstance(obj, dict) for _, obj in changes)
    assert changes[-1][1]["status"]["state"] == "successful"
    assert changes[-1][1]["apiVersion"] == "nvidia.com/v1beta1"
    # Before its timeout the watch says how far it got, to watch again from there.
    assert last == "BOOKMARK"
    assert bookmark["metadata"]["resourceVersion"] == cluster_sandbox.store.resource_version


def test_a_pod_watch_sees_the_pods_of_one_dgd(cluster_sandbox):
    create("other")
    _, version = cluster.pod_listing(namespace="default")
    create("qwen")
    cluster_sandbox.advance(120)
    events = list(
        cluster.pod_watch(
            namespace="default",
            resource_version=version,
            timeout_seconds=1,
            label_selector=f"{OWNER}=qwen",
        )
    )
    names = {obj["metadata"]["name"] for kind, obj in events if kind != "BOOKMARK"}
    assert len(names) == 2 and all(name.startswith("qwen-") for name in names)


def test_a_watch_yields_changes_as_they_happen(cluster_sandbox):
    _, version = cluster.dgd_listing(namespace="default")
    seen: list[tuple[str, dict]] = []

    def follow() -> None:
        for event in cluster.dgd_watch(
            namespace="default", resource_version=version, timeout_seconds=5
        ):
            seen.append(event)
            return

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.3)
    create()
    thread.join(5)
    assert not thread.is_alive()
    assert seen[0][0] == "ADDED" and seen[0][1]["metadata"]["name"] == "qwen"


def test_a_too_old_resource_version_raises_expired(cluster_sandbox):
    _, version = cluster.dgd_listing(namespace="default")
    for index in range(HISTORY + 1):
        cluster_sandbox.create_secret("default", f"filler-{index}", {"k": "v"})
    with pytest.raises(cluster.Expired) as caught:
        list(cluster.dgd_watch(namespace="default", resource_version=version, timeout_seconds=5))
    assert f"no longer keeps changes since resourceVersion {version}" in caught.value.message
    assert "List them again" in caught.value.message


def test_a_watch_without_the_watch_verb_is_forbidden(cluster_sandbox):
    _, version = cluster.dgd_listing(namespace="default")
    cluster_sandbox.set_permissions(
        [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}]
    )
    with pytest.raises(cluster.Forbidden) as caught:
        list(cluster.dgd_watch(namespace="default", resource_version=version, timeout_seconds=1))
    assert caught.value.verb == "watch"
    assert 'Grant the verb "watch" on "dynamographdeployments"' in caught.value.message


def test_a_watch_cut_by_an_outage_is_unreachable(cluster_sandbox):
    _, version = cluster.dgd_listing(namespace="default")
    events = cluster.dgd_watch(namespace="default", resource_version=version, timeout_seconds=30)
    threading.Timer(0.3, cluster_sandbox.api.apply_faults, [{"outage": 1}]).start()
    with pytest.raises(cluster.Unreachable, match="was cut off"):
        list(events)
