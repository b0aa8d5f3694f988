"""The Dynamo release comes from the cluster: the operator's image tag, the setting, the API."""

import html
import shutil
import subprocess
from pathlib import Path

import pytest

from deployments import cluster
from deployments.engines import DYNAMO_RELEASES, newest_published, resolve_release
from sandbox import rules_from_role
from tests.deploy.conftest import NEW_URL

OPERATOR = "nvcr.io/nvidia/ai-dynamo/kubernetes-operator"
ROLE = Path(__file__).resolve().parents[2] / "deploy" / "clusterrole.yaml"


def page(client, **query) -> str:
    return html.unescape(client.get(NEW_URL, {"model": "qwen3-8b", **query}).content.decode())


# --- the release table -----------------------------------------------------------------------


def test_the_table_has_one_entry_per_release_line():
    assert list(DYNAMO_RELEASES) == ["0.6", "1.0-1.4", "1.5"]
    assert newest_published("v1beta1") == "1.4.0"
    assert newest_published("v1alpha1") == "0.6.1"
    assert DYNAMO_RELEASES["1.5"].published == ()


def test_the_operator_image_tag_decides_first():
    release = resolve_release(
        api_version="v1beta1", operator_image=f"{OPERATOR}:1.3.0", configured="1.2.0"
    )
    assert (release.image_tag, release.source, release.line.key) == ("1.3.0", "operator", "1.0-1.4")
    assert release.reason == f"Runtime images 1.3.0, as the operator image {OPERATOR}:1.3.0 says."


def test_an_unpublished_release_keeps_its_flags_but_the_newest_published_images():
    release = resolve_release(api_version="v1beta1", operator_image=f"{OPERATOR}:1.5.0")
    assert release.line.key == "1.5"
    assert release.image_tag == "1.4.0"
    assert "takes the 1.5 line's flags" in release.reason
    assert "stay at 1.4.0, the newest published release" in release.reason


def test_without_the_operator_the_setting_then_the_api_version_decide():
    assert resolve_release(api_version="v1beta1", configured="1.2.0").image_tag == "1.2.0"
    # A 1.x setting says nothing about a cluster that serves only v1alpha1 (Dynamo 0.x).
    release = resolve_release(api_version="v1alpha1", configured="1.2.0")
    assert release.image_tag == "0.6.1"
    assert "served API version v1alpha1 → 0.6.1" in release.reason
    assert "DYNAMOTE_DYNAMO_VERSION 1.2.0 is of another generation" in release.reason
    odd = resolve_release(api_version="v1beta1", operator_image="localhost:5000/op:dev")
    assert odd.source == "api-version" and "names no release Dynamote knows" in odd.reason


# --- reading it from the cluster -------------------------------------------------------------


@pytest.mark.parametrize(("profile", "tag"), [("dynamo-1.5", "1.4.0"), ("dynamo-0.6", "0.6.1")])
def test_dynamote_reads_the_operator_image_of_the_sandbox(make_sandbox, use_cluster, profile, tag):
    use_cluster(make_sandbox(profile=profile))
    image, why_not = cluster.operator_image(namespace="dynamo-system")
    assert image == f"{OPERATOR}:{tag}" and why_not == ""


def test_kubectl_lists_the_operator_deployment(sandbox):
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: this test drives the real kubectl")
    answer = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            str(sandbox.kubeconfig_path),
            "get",
            "deploy",
            "-n",
            "dynamo-system",
            "-o",
            "jsonpath={.items[0].spec.template.spec.containers[0].image}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == f"{OPERATOR}:1.4.0"
    listed = subprocess.run(
        ["kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), "get", "deploy", "-A"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "dynamo-platform-dynamo-operator-controller-manager" in listed.stdout, listed.stderr


def test_the_form_and_the_header_say_the_operators_release(member_client, cluster_sandbox):
    text = page(member_client)
    assert f"Runtime images 1.4.0, as the operator image {OPERATOR}:1.4.0 says." in text
    status = member_client.get("/api/cluster/status").json()
    assert status["dynamoRelease"]["imageTag"] == "1.4.0"
    assert status["dynamoRelease"]["source"] == "operator"
    # The header's cluster popover, on every page.
    response = member_client.get("/models/")
    assert response.context["cluster"].release.image_tag == "1.4.0"
    header = html.unescape(response.content.decode())
    assert f"as the operator image {OPERATOR}:1.4.0 says" in header


def test_an_operator_of_an_unpublished_release_keeps_the_published_images(
    member_client, make_sandbox, use_cluster
):
    use_cluster(
        make_sandbox(
            cluster={"operator": {"namespace": "dynamo-system", "image": f"{OPERATOR}:1.5.0"}}
        )
    )
    response = member_client.get(NEW_URL, {"model": "qwen3-8b"})
    assert "vllm-runtime:1.4.0" in response.context["yaml"]
    assert "takes the 1.5 line's flags" in html.unescape(response.content.decode())


def test_a_0_6_cluster_gets_0_6_images(member_client, make_sandbox, use_cluster, settings):
    settings.DYNAMOTE_DYNAMO_VERSION = "1.3.0"
    use_cluster(make_sandbox(profile="dynamo-0.6"))
    response = member_client.get(NEW_URL, {"model": "qwen3-8b"})
    assert "vllm-runtime:0.6.1" in response.context["yaml"]
    assert f"as the operator image {OPERATOR}:0.6.1 says" in html.unescape(
        response.content.decode()
    )


def test_without_permission_dynamote_falls_back_and_says_why(
    member_client, make_sandbox, use_cluster, settings
):
    settings.DYNAMOTE_DYNAMO_VERSION = "1.3.0"
    sandbox = make_sandbox()
    sandbox.set_permissions(rules_from_role(ROLE))
    use_cluster(sandbox)
    text = page(member_client)
    assert "Dynamote may not list Deployments in dynamo-system" in text
    assert "Runtime images 1.3.0, as DYNAMOTE_DYNAMO_VERSION says." in text
    status = member_client.get("/api/cluster/status?fresh=1").json()
    assert status["dynamoRelease"]["source"] == "setting"


def test_an_unreachable_cluster_still_says_which_release(member_client, cluster_sandbox, settings):
    settings.DYNAMOTE_DYNAMO_VERSION = "1.3.0"
    cluster_sandbox.stop()
    response = member_client.get(NEW_URL, {"model": "qwen3-8b"})
    assert "Runtime images 1.3.0, as DYNAMOTE_DYNAMO_VERSION says." in html.unescape(
        response.content.decode()
    )
    assert "vllm-runtime:1.3.0" in response.context["yaml"]
