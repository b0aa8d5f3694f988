"""Importing a DGD manifest as YAML (page and JSON API) against the sandbox, and each refusal."""

from itertools import pairwise

import pytest
import yaml
from django.urls import reverse

from access.models import AuditEntry
from catalog.selectors import catalog_get
from deployments.manifests import ModelFacts
from deployments.models import Revision
from deployments.plan import offline_target, plan
from tests.factories import grant_role

IMPORT = "/deployments/import/"
API = "/api/deployments"


def manifest(name: str = "imported", version: str = "v1beta1", **data) -> dict:
    """A valid DGD as Dynamote's pipeline builds it (either API version)."""
    facts = ModelFacts.from_catalog(catalog_get(slug="qwen3-8b"))
    config = {"name": name, "namespace": "default", "engine": "vllm", **data}
    result = plan(facts, offline_target(api_version=version), config)
    assert result.ok, result.errors
    return result.manifest


def as_yaml(body: dict) -> str:
    return yaml.safe_dump(body, sort_keys=False)


def review(client, text: str, url: str = IMPORT):
    return client.post(url, {"yaml": text, "review": "1"})


def apply(client, reviewed, url: str = IMPORT):
    """Applies what a review answered, as the page's Apply button does."""
    return client.post(
        url,
        {
            "yaml": reviewed.context["text"],
            "reviewed": reviewed.context["reviewed"],
            "resource_version": reviewed.context["preview"].resource_version,
            "apply": "1",
        },
    )


def errors_of(response) -> dict:
    return response.context["errors"]


@pytest.mark.parametrize("version", ["v1beta1", "v1alpha1"])
def test_importing_a_new_deployment_creates_it_as_revision_1(
    member, member_client, cluster_sandbox, version
):
    text = as_yaml(manifest(version=version))
    reviewed = review(member_client, text)
    assert reviewed.status_code == 200, errors_of(reviewed)
    preview = reviewed.context["preview"]
    assert preview.creates
    assert (
        "imported does not exist in namespace default: importing creates it" in (preview.summary[0])
    )
    assert cluster_sandbox.list("dgd", "default") == []  # a review applies nothing
    applied = apply(member_client, reviewed)
    assert applied.status_code == 302
    assert applied["Location"] == reverse("deployments:detail", args=["default", "imported"])
    live = cluster_sandbox.get("dgd", "default", "imported")
    assert live["apiVersion"] == f"nvidia.com/{version}"
    revision = Revision.objects.get(name="imported")
    assert (revision.number, revision.action, revision.user) == (1, "import", member)
    entry = AuditEntry.objects.filter(action="import").get()
    assert (entry.name, entry.outcome) == ("imported", "succeeded")


def test_importing_a_changed_manifest_over_a_deployment_shows_the_diff_then_applies_it(
    member, member_client, disagg
):
    text = member_client.get(reverse("deployments:edit-yaml", args=["default", "qwen"])).context[
        "text"
    ]
    body = yaml.safe_load(text)
    assert "status" not in body and "resourceVersion" not in body["metadata"]
    decode = next(c for c in body["spec"]["components"] if "Decode" in c["name"])
    decode["podTemplate"]["spec"]["containers"][0]["args"].append("--max-num-seqs=64")
    reviewed = review(member_client, as_yaml(body))
    assert reviewed.status_code == 200, errors_of(reviewed)
    preview = reviewed.context["preview"]
    assert not preview.creates
    assert "+        - --max-num-seqs=64" in preview.diff
    assert any("arguments change" in s and "restart" in s for s in preview.summary)
    applied = apply(member_client, reviewed)
    assert applied.status_code == 302
    live = disagg.get("dgd", "default", "qwen")
    args = next(c for c in live["spec"]["components"] if "Decode" in c["name"])
    assert "--max-num-seqs=64" in args["podTemplate"]["spec"]["containers"][0]["args"]
    latest = Revision.objects.first()
    assert (latest.number, latest.action, latest.user) == (2, "import", member)
    assert AuditEntry.objects.filter(action="import", outcome="succeeded").count() == 1


def test_a_change_made_meanwhile_is_not_overwritten_and_its_diff_is_shown(
    member_client, disagg, custom
):
    body = yaml.safe_load(as_yaml(disagg.get("dgd", "default", "qwen")))
    body["spec"]["components"][0]["replicas"] = 3
    reviewed = review(member_client, as_yaml(body))
    assert reviewed.status_code == 200
    live = custom.get_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen"
    )
    live["spec"]["components"][1]["replicas"] = 2
    custom.replace_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen", live
    )
    stale = apply(member_client, reviewed)
    assert stale.status_code == 409
    assert "changed since you read it" in stale.context["stale"]
    assert stale.context["text"] == reviewed.context["text"]  # the text is kept
    newer = stale.context["preview"]
    assert newer.resource_version != reviewed.context["preview"].resource_version
    assert disagg.get("dgd", "default", "qwen")["spec"]["components"][0]["replicas"] == 1
    # Applying after reviewing the newer diff goes through.
    assert apply(member_client, stale).status_code == 302
    assert disagg.get("dgd", "default", "qwen")["spec"]["components"][0]["replicas"] == 3


def test_an_edited_text_is_reviewed_again_not_applied(member_client, cluster_sandbox):
    reviewed = review(member_client, as_yaml(manifest()))
    changed = reviewed.context["text"].replace("imported", "other")
    response = member_client.post(
        IMPORT,
        {"yaml": changed, "reviewed": reviewed.context["reviewed"], "apply": "1"},
    )
    assert response.status_code == 200
    assert "changed since your review" in response.context["stale"]
    assert cluster_sandbox.list("dgd", "default") == []


def test_an_uploaded_file_is_imported(member_client, cluster_sandbox):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("dgd.yaml", as_yaml(manifest()).encode(), "application/yaml")
    reviewed = member_client.post(IMPORT, {"yaml": "", "file": upload, "review": "1"})
    assert reviewed.status_code == 200, errors_of(reviewed)
    assert reviewed.context["preview"].creates
    assert "name: imported" in reviewed.context["text"]


# --- refusals ---------------------------------------------------------------------------------


def refused(member_client, text: str, status: int = 400, url: str = IMPORT) -> dict:
    response = review(member_client, text, url)
    assert response.status_code == status, response.content.decode()[:2000]
    assert response.context["text"] == text  # nothing the person typed is lost
    assert b'aria-invalid="true"' in response.content
    return errors_of(response)


def test_invalid_yaml_is_refused_with_its_line_and_column(member_client, cluster_sandbox):
    text = (
        "apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata:\n"
        "  name: qwen\nspec:\n\tcomponents: []\n"
    )
    errors = refused(member_client, text)
    assert errors["yaml"] == [
        "The YAML is not valid at line 6, column 1: found character '\\t' that cannot start "
        "any token."
    ]


def test_several_documents_are_refused(member_client, cluster_sandbox):
    text = as_yaml(manifest()) + "---\n" + as_yaml(manifest(name="second"))
    errors = refused(member_client, text)
    assert "holds 2 YAML documents" in errors["yaml"][0]


def test_another_kind_is_refused(member_client, cluster_sandbox):
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec: {}\n"
    errors = refused(member_client, text)
    assert errors["kind"] == [
        "This is a Deployment (apps/v1): Dynamote imports only DynamoGraphDeployments "
        "(nvidia.com/v1beta1 or v1alpha1)."
    ]


def test_a_namespace_outside_dynamote_namespaces_is_refused(
    member_client, cluster_sandbox, settings
):
    settings.DYNAMOTE_NAMESPACES = ["default"]
    body = manifest()
    body["metadata"]["namespace"] = "kube-system"
    errors = refused(member_client, as_yaml(body))
    assert "Dynamote may not use namespace 'kube-system'" in errors["metadata.namespace"][0]
    assert "DYNAMOTE_NAMESPACES" in errors["metadata.namespace"][0]


def test_a_namespace_the_user_may_not_deploy_to_is_refused(db, client, cluster_sandbox):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("lin", password="lin-password-1")
    grant_role(user, "deployer", "team-a")
    grant_role(user, "viewer", "default")
    client.force_login(user)
    errors = refused(client, as_yaml(manifest()), status=403)
    assert errors["metadata.namespace"] == [
        "You need the Deployer role in namespace default to import manifests."
    ]
    assert cluster_sandbox.list("dgd", "default") == []


def test_fields_the_crd_refuses_are_named_by_path(member_client, cluster_sandbox):
    body = manifest()
    body["spec"]["components"][0]["replicaz"] = 2
    body["spec"]["components"][1]["replicas"] = "two"
    errors = refused(member_client, as_yaml(body))
    assert errors["spec.components[0].replicaz"] == ['unknown field "spec.components[0].replicaz"']
    assert "spec.components[1].replicas" in errors


def test_a_secret_or_image_outside_the_allow_lists_is_refused(member_client, cluster_sandbox):
    body = manifest()
    container = body["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    container["image"] = "docker.io/someone/vllm:latest"
    container["envFrom"] = [{"secretRef": {"name": "prod-db-password"}}]
    errors = refused(member_client, as_yaml(body))
    paths = sorted(errors)
    assert any(p.endswith(".image") for p in paths)
    assert any(p.endswith("secretRef.name") for p in paths)
    message = " ".join(m for ms in errors.values() for m in ms)
    assert "DYNAMOTE_ALLOWED_IMAGE_PREFIXES" in message and "prod-db-password" in message
    refusal = AuditEntry.objects.get(action="import")
    assert refusal.outcome == "refused"


def test_the_edit_page_keeps_its_name(member_client, disagg):
    url = reverse("deployments:edit-yaml", args=["default", "qwen"])
    errors = refused(member_client, as_yaml(manifest(name="other")), url=url)
    assert "Name and namespace cannot change here" in errors["metadata.name"][0]


def test_an_external_deployment_is_edited_as_yaml(member_client, cluster_sandbox, custom):
    body = manifest(name="outside")
    body["metadata"]["labels"] = {}
    custom.create_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", body
    )
    url = reverse("deployments:edit-yaml", args=["default", "outside"])
    page = member_client.get(url)
    assert page.status_code == 200
    edited = yaml.safe_load(page.context["text"])
    assert edited["metadata"]["name"] == "outside"
    edited["spec"]["components"][1]["replicas"] = 2
    reviewed = review(member_client, as_yaml(edited), url)
    assert reviewed.status_code == 200, errors_of(reviewed)
    assert "replicas only: no restart" in reviewed.context["preview"].summary
    assert apply(member_client, reviewed, url).status_code == 302
    assert (
        cluster_sandbox.get("dgd", "default", "outside")["spec"]["components"][1]["replicas"] == 2
    )
    assert Revision.objects.filter(name="outside").first().action == "import"


# --- the JSON API -----------------------------------------------------------------------------


def post_yaml(client, text: str, query: str = ""):
    return client.post(f"{API}{query}", text, content_type="application/yaml")


def test_api_creates_a_deployment_from_yaml(member_client, cluster_sandbox):
    dry = post_yaml(member_client, as_yaml(manifest()), "?dryRun=true")
    assert dry.status_code == 200 and dry.json()["creates"] is True
    assert cluster_sandbox.list("dgd", "default") == []
    created = post_yaml(member_client, as_yaml(manifest()))
    assert created.status_code == 201, created.json()
    assert created.json()["revision"] == 1
    assert cluster_sandbox.get("dgd", "default", "imported")


def test_api_applies_yaml_over_a_deployment_with_its_resource_version(member_client, disagg):
    live = disagg.get("dgd", "default", "qwen")
    body = yaml.safe_load(as_yaml(live))
    body["spec"]["components"][0]["replicas"] = 2
    body["metadata"]["resourceVersion"] = "1"  # long gone
    stale = post_yaml(member_client, as_yaml(body))
    assert stale.status_code == 409
    assert "changed since you read it" in stale.json()["error"]
    body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
    applied = post_yaml(member_client, as_yaml(body))
    assert applied.status_code == 200, applied.json()
    assert applied.json()["revision"] == 2
    assert "replicas only: no restart" in applied.json()["summary"]


def test_api_refusals_name_the_field(member_client, cluster_sandbox):
    bad = post_yaml(member_client, "kind: [\n")
    assert bad.status_code == 400
    assert bad.json()["fields"]["yaml"][0].startswith("The YAML is not valid at line")
    other = post_yaml(member_client, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert other.status_code == 400
    assert "only DynamoGraphDeployments" in other.json()["error"]


def test_a_yaml_whose_aliases_would_explode_is_refused(member_client, cluster_sandbox):
    names = [f"l{i}" for i in range(60)]
    lines = [
        "apiVersion: nvidia.com/v1beta1",
        "kind: DynamoGraphDeployment",
        f"{names[0]}: &{names[0]} [x, x]",
    ]
    lines += [f"{n}: &{n} [*{p}, *{p}]" for p, n in pairwise(names)]
    errors = refused(member_client, "\n".join(lines) + "\n")
    assert "more than 100 aliases" in errors["yaml"][0]


def test_a_cluster_failure_keeps_the_text_and_says_what_happened(member_client, disagg):
    text = as_yaml(manifest())
    disagg.fail_next(20, 500)
    response = review(member_client, text)
    disagg.clear_faults()
    assert response.status_code == 502
    assert response.context["text"] == text
    assert response.context["error"].startswith("The cluster answered HTTP 500")
