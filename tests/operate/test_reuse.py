"""Deploying a copy of a deployment, and adopting one created outside Dynamote."""

from urllib.parse import parse_qsl, urlsplit

from access.models import AuditEntry
from deployments import cluster
from deployments.manifests import MANAGED_BY, MANAGED_BY_LABEL
from tests.dashboard.conftest import dgd_manifest
from tests.deploy.conftest import NEW_URL, form_data
from tests.operate.test_operate import components

GROUP, PLURAL = "nvidia.com", "dynamographdeployments"


def test_a_copy_opens_the_form_filled_from_the_live_deployment(member_client, disagg, custom):
    created = member_client.post(
        NEW_URL,
        form_data(idempotency_key="args", name="tuned", engine_args="--max-num-seqs 8"),
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    disagg.advance(120)
    decode = next(name for name in components(disagg) if "Decode" in name)
    dgd = custom.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    index = [c["name"] for c in dgd["spec"]["components"]].index(decode)
    dgd["spec"]["components"][index]["replicas"] = 2  # a change made with kubectl
    custom.replace_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", dgd)

    page = member_client.get("/deployments/default/qwen/").content.decode()
    assert 'href="/deployments/default/qwen/copy/"' in page
    opened = member_client.get("/deployments/default/qwen/copy/")
    assert opened.status_code == 302
    form = member_client.get(opened["Location"]).context["form"]
    assert form["name"].value() == "qwen-2"
    assert form["engine"].value() == "vllm"
    assert form["mode"].value() == "disaggregated"
    assert int(form["decode_replicas"].value()) == 2
    assert not form.fields["namespace"].disabled
    assert "default" in [value for value, _ in form.fields["namespace"].choices]

    args = member_client.get("/deployments/default/tuned/copy/")
    assert dict(parse_qsl(urlsplit(args["Location"]).query))["engine_args"] == "--max-num-seqs 8"


def test_submitting_the_copy_creates_a_second_deployment(member_client, disagg):
    opened = member_client.get("/deployments/default/qwen/copy/")
    data = dict(parse_qsl(urlsplit(opened["Location"]).query))
    created = member_client.post(NEW_URL, data)
    assert created.status_code == 302, created.content.decode()[:3000]
    assert created["Location"] == "/deployments/default/qwen-2/"
    copy = disagg.get(PLURAL, "default", "qwen-2")
    source = disagg.get(PLURAL, "default", "qwen")
    assert copy is not None and source is not None
    assert [c["type"] for c in copy["spec"]["components"]] == [
        c["type"] for c in source["spec"]["components"]
    ]


def test_an_external_deployment_has_no_form_to_copy(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("outside", external=True))
    response = member_client.get("/deployments/default/outside/copy/", follow=True)
    assert "there is no form to fill" in response.content.decode()


def test_adopting_an_external_deployment_labels_it(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("outside", external=True))
    cluster_sandbox.advance(60)
    page = member_client.get("/deployments/default/outside/").content.decode()
    assert "Created outside Dynamote." in page
    assert 'href="/deployments/default/outside/adopt/"' in page

    confirm = member_client.get("/deployments/default/outside/adopt/").content.decode()
    assert "Adopt outside?" in confirm and "no pod restarts" in confirm
    assert cluster_sandbox.get(PLURAL, "default", "outside")["metadata"].get("labels") in (None, {})

    adopted = member_client.post("/deployments/default/outside/adopt/")
    assert adopted.status_code == 302
    labels = cluster_sandbox.get(PLURAL, "default", "outside")["metadata"]["labels"]
    assert labels[MANAGED_BY_LABEL] == MANAGED_BY
    page = member_client.get("/deployments/default/outside/").content.decode()
    assert "Created outside Dynamote." not in page and "is now managed by Dynamote" in page
    entry = AuditEntry.objects.get(action="adopt")
    assert (entry.namespace, entry.name, entry.outcome) == ("default", "outside", "succeeded")


def test_a_viewer_may_not_adopt(client, cluster_sandbox, django_user_model):
    from tests.factories import grant_role

    cluster.dgd_create(manifest=dgd_manifest("outside", external=True))
    viewer = django_user_model.objects.create_user("vera", password="vera-password-1")
    grant_role(viewer, "viewer")
    client.force_login(viewer)
    assert client.post("/deployments/default/outside/adopt/").status_code == 403
    assert client.get("/deployments/default/outside/copy/").status_code == 403
    assert not cluster_sandbox.get(PLURAL, "default", "outside")["metadata"].get("labels")
