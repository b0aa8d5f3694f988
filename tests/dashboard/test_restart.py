"""Restarting a deployment or one component, from the details page and the JSON API."""

import json
import re
from pathlib import Path

import pytest

from deployments import cluster, mirror
from sandbox import ManualClock, rules_from_role
from tests.dashboard.conftest import IMAGE, dgd_manifest

HTMX = {"HX-Request": "true"}
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


@pytest.fixture(autouse=True)
def no_ttl(monkeypatch):
    """Every read asks the sandbox, so each step of a test sees the cluster as it is."""
    monkeypatch.setattr(mirror, "LIST_TTL", 0)


def pod_uids(sandbox, component: str, name: str = "llama") -> set[str]:
    return {
        p["metadata"]["uid"]
        for p in sandbox.store.objects("pods")
        if p["metadata"]["labels"].get("nvidia.com/dynamo-graph-deployment-name") == name
        and p["metadata"]["labels"].get("nvidia.com/dynamo-component") == component
        and not p["metadata"].get("deletionTimestamp")
    }


def live(client, name: str = "llama") -> str:
    response = client.get(f"/deployments/default/{name}/", headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def progress(html: str) -> str:
    """The progress section's text, tags stripped."""
    match = re.search(r"<section[^>]*data-progress>(.*?)</section>", html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()) if match else ""


def test_the_dialog_says_what_each_choice_restarts(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama", workers=2)
    cluster_sandbox.advance(60)
    page = member_client.get("/deployments/default/llama/").content.decode()
    assert 'hx-get="/deployments/default/llama/restart/"' in page
    dialog = member_client.get("/deployments/default/llama/restart/", headers=HTMX)
    html = dialog.content.decode()
    assert "<dialog" in html and "Restart llama?" in html
    assert "The whole deployment" in html and "VllmWorker (worker)" in html
    assert "The 2 worker pods restart: one at a time" in html
    assert "Every component restarts in turn (Frontend, then VllmWorker)" in html


def test_restarting_one_component_rolls_only_its_pods(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama", workers=2)
    cluster_sandbox.advance(60)
    frontend = pod_uids(cluster_sandbox, "Frontend")
    workers = pod_uids(cluster_sandbox, "VllmWorker")

    response = member_client.post(
        "/deployments/default/llama/restart/", {"component": "VllmWorker"}, headers=HTMX
    )
    assert response.headers["HX-Redirect"] == "/deployments/default/llama/"
    dgd = cluster_sandbox.get("dgd", "default", "llama")
    assert dgd["metadata"]["generation"] == 2
    worker = dgd["spec"]["components"][1]
    assert RESTARTED_AT in worker["podTemplate"]["metadata"]["annotations"]
    assert "metadata" not in dgd["spec"]["components"][0]["podTemplate"]

    cluster_sandbox.advance(1)
    html = live(member_client)
    assert "Restarting VllmWorker." in progress(html)
    assert "0 of 2 new pods ready, 2 old pods still running" in progress(html)
    assert 'data-status="deploying"' in html or "Deploying" in html

    cluster_sandbox.advance(120)
    assert not pod_uids(cluster_sandbox, "VllmWorker") & workers
    assert len(pod_uids(cluster_sandbox, "VllmWorker")) == 2
    assert pod_uids(cluster_sandbox, "Frontend") == frontend
    assert progress(live(member_client)) == ""  # done: nothing under way


def test_restarting_the_whole_deployment_on_dynamo_1_5_sets_spec_restart(
    member_client, cluster_sandbox, create_dgd
):
    create_dgd("llama")
    cluster_sandbox.advance(60)
    before = pod_uids(cluster_sandbox, "Frontend") | pod_uids(cluster_sandbox, "VllmWorker")
    response = member_client.post(
        "/deployments/default/llama/restart/", {"component": ""}, follow=True
    )
    assert response.redirect_chain == [("/deployments/default/llama/", 302)]
    # The toast says what was asked.
    assert "Restarting llama. Every component restarts in turn" in response.content.decode()
    restart_id = cluster_sandbox.get("dgd", "default", "llama")["spec"]["restart"]["id"]
    cluster_sandbox.advance(1)
    assert f"Restart {restart_id}: restarting Frontend." in progress(live(member_client))

    cluster_sandbox.advance(150)
    after = pod_uids(cluster_sandbox, "Frontend") | pod_uids(cluster_sandbox, "VllmWorker")
    assert len(after) == 2 and not after & before
    assert f"The last restart ({restart_id}) is completed." in progress(live(member_client))


def test_dynamo_0_6_restarts_every_service_through_pod_annotations(
    member_client, make_sandbox, use_cluster
):
    sandbox = make_sandbox(profile="dynamo-0.6", clock=ManualClock())
    use_cluster(sandbox)
    worker = {
        "componentType": "worker",
        "replicas": 1,
        "envFromSecret": "hf-token-secret",
        "resources": {"limits": {"gpu": "1"}},
        "extraPodSpec": {
            "mainContainer": {
                "image": IMAGE.replace("1.4.0", "0.6.1"),
                "command": ["python3", "-m", "dynamo.vllm"],
                "args": ["--model", "Qwen/Qwen3-0.6B"],
            }
        },
    }
    frontend = {"componentType": "frontend", "replicas": 1}
    cluster.dgd_create(
        manifest={
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeployment",
            "metadata": {"name": "legacy", "namespace": "default"},
            "spec": {"services": {"Frontend": frontend, "VllmWorker": worker}},
        }
    )
    sandbox.advance(60)
    dialog = member_client.get("/deployments/default/legacy/restart/", headers=HTMX)
    assert "Every chosen component restarts at once" in dialog.content.decode()
    body = member_client.post(
        "/api/deployments/legacy/restart", "", content_type="application/json"
    ).json()
    assert body["method"] == "annotation"
    assert body["components"] == ["Frontend", "VllmWorker"]
    services = sandbox.get("dgd", "default", "legacy")["spec"]["services"]
    stamps = {s["extraPodMetadata"]["annotations"][RESTARTED_AT] for s in services.values()}
    assert stamps == {body["restartedAt"]}
    sandbox.advance(1)
    assert "Restarting Frontend, VllmWorker." in progress(live(member_client, "legacy"))


class TestApi:
    def post(self, client, name: str = "llama", body=None, query: str = ""):
        raw = "" if body is None else json.dumps(body)
        return client.post(
            f"/api/deployments/{name}/restart{query}", raw, content_type="application/json"
        )

    def test_restart_a_component(self, member_client, cluster_sandbox, create_dgd):
        create_dgd("llama", workers=2)
        response = self.post(member_client, body={"components": ["VllmWorker"]})
        assert response.status_code == 202
        body = response.json()
        assert body["restarted"] == "llama" and body["namespace"] == "default"
        assert (body["method"], body["components"]) == ("annotation", ["VllmWorker"])
        assert body["summary"] == (
            "The 2 worker pods restart: one at a time, each new pod ready before an old one stops."
            " Each new pod needs 1 free GPU while the old ones still run."
        )
        annotations = cluster_sandbox.get("dgd", "default", "llama")["spec"]["components"][1][
            "podTemplate"
        ]["metadata"]["annotations"]
        assert annotations[RESTARTED_AT] == body["restartedAt"]

    def test_restart_everything(self, member_client, cluster_sandbox, create_dgd):
        create_dgd("llama")
        body = self.post(member_client, query="?namespace=default").json()
        assert body["method"] == "spec.restart"
        spec = cluster_sandbox.get("dgd", "default", "llama")["spec"]
        assert spec["restart"] == {"id": body["restartId"]}

    def test_refusals_use_the_error_shape(self, member_client, cluster_sandbox, create_dgd):
        create_dgd("llama")
        response = self.post(member_client, body={"components": ["Decode"]})
        assert response.status_code == 400
        assert response.json()["fields"]["components"] == [
            "'Decode': no such component. llama has Frontend, VllmWorker."
        ]
        response = self.post(member_client, body={"components": "VllmWorker"})
        assert response.status_code == 400 and "components" in response.json()["fields"]
        response = self.post(member_client, body={"replicas": 2})
        assert response.status_code == 400 and "replicas" in response.json()["fields"]
        response = self.post(member_client, "gone")
        assert response.status_code == 404
        assert response.json()["error"] == 'There is no deployment "gone" in namespace "default".'
        assert self.post(member_client, "Bad_Name").status_code == 400
        assert self.post(member_client, query="?namespace=Nope").status_code == 400
        assert cluster_sandbox.get("dgd", "default", "llama")["metadata"]["generation"] == 1

    def test_a_change_made_meanwhile_is_not_overwritten(
        self, member_client, cluster_sandbox, create_dgd, monkeypatch
    ):
        create_dgd("llama")
        read = cluster.dgd_get

        def read_then_someone_scales(**kwargs):
            dgd = read(**kwargs)
            changed = json.loads(json.dumps(dgd))
            changed["spec"]["components"][1]["replicas"] = 3
            api = cluster._custom()
            api.replace_namespaced_custom_object(
                "nvidia.com", "v1beta1", "default", "dynamographdeployments", "llama", changed
            )
            return dgd

        monkeypatch.setattr(cluster, "dgd_get", read_then_someone_scales)
        response = self.post(member_client, body={"components": ["VllmWorker"]})
        assert response.status_code == 409
        assert (
            "changed on the cluster while the restart was being sent" in (response.json()["error"])
        )
        dgd = cluster_sandbox.get("dgd", "default", "llama")
        assert dgd["spec"]["components"][1]["replicas"] == 3
        assert "metadata" not in dgd["spec"]["components"][1]["podTemplate"]


def test_a_rolling_update_shows_its_progress(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama", workers=2)
    cluster_sandbox.advance(60)
    # Someone changes the worker's arguments outside Dynamote: its pods roll.
    dgd = cluster.dgd_get(namespace="default", name="llama")
    main = dgd["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    main["args"] = [*main["args"], "--enforce-eager"]
    cluster._custom().replace_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "llama", dgd
    )
    cluster_sandbox.advance(1)
    text = progress(live(member_client))
    assert text.startswith("Rolling update InProgress Rolling out a changed configuration since")
    assert "VllmWorker: 0 of 2 new pods ready, 2 old pods still running" in text
    assert "Frontend: done: 1 of 1 new pods ready" in text
    body = member_client.get("/api/deployments/llama").json()
    assert body["progress"]["kind"] == "rolling update"
    assert body["progress"]["components"][1] == {
        "component": "VllmWorker",
        "wanted": 2,
        "newPods": 1,
        "newPodsReady": 0,
        "oldPods": 2,
        "done": False,
    }
    cluster_sandbox.advance(120)
    assert progress(live(member_client)) == ""


def test_restart_needs_the_patch_rule_the_deployed_role_grants(
    member_client, make_sandbox, use_cluster
):
    role = Path(__file__).resolve().parents[2] / "deploy" / "clusterrole.yaml"
    rules = rules_from_role(role)
    sandbox = make_sandbox(clock=ManualClock())
    sandbox.set_permissions(rules)
    use_cluster(sandbox)
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    post = member_client.post("/api/deployments/llama/restart", "", content_type="application/json")
    assert post.status_code == 202

    without_patch = [
        {**rule, "verbs": [v for v in rule["verbs"] if v != "patch"]} for rule in rules
    ]
    sandbox.set_permissions(without_patch)
    response = member_client.post(
        "/deployments/default/llama/restart/", {"component": "VllmWorker"}, headers=HTMX
    )
    assert "Forbidden: Dynamote may not patch dynamographdeployments" in response.content.decode()
