"""Let Kubernetes decide, in Chromium: with DYNAMOTE_IMPERSONATE on, a user the cluster lets
only view sees Delete greyed with Kubernetes' reason, and a RoleBinding that lets them delete
turns it into a working button."""

import pytest
from playwright.sync_api import expect

from access import kube
from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest
from tests.impersonate.conftest import READ, WRITE, Rbac

pytestmark = pytest.mark.e2e


@pytest.fixture
def impersonating(cluster_sandbox, settings):
    settings.DYNAMOTE_IMPERSONATE = True
    kube.forget()
    mirror.reset()
    yield Rbac(cluster_sandbox)
    kube.forget()
    mirror.reset()


def test_what_kubernetes_refuses_is_greyed_and_a_new_binding_enables_it(
    logged_in_page, impersonating, cluster_sandbox, live_server
):
    rbac, page = impersonating, logged_in_page
    page.goto("about:blank")  # the landing page's streams stop asking Kubernetes
    rbac.cluster_role("dgd-viewer", READ)
    rbac.cluster_role("dgd-editor", WRITE)
    rbac.bind("ada-view", role="dgd-viewer", namespace="default", user="ada")
    # The landing page's requests may have asked Kubernetes before this binding existed.
    kube.forget()
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    cluster.dgd_create(manifest=dgd_manifest("mistral", namespace="dynamo"))

    page.goto(f"{live_server.url}/deployments/?wait=1")
    expect(page.locator('tr[data-deployment="default/llama"]')).to_be_visible()
    expect(page.locator('tr[data-deployment="dynamo/mistral"]')).to_have_count(0)

    page.goto(f"{live_server.url}/deployments/default/llama/")
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    page.locator("[data-refused] summary", has_text="Delete").click()
    expect(
        page.get_by_role("note").filter(has_text="delete DynamoGraphDeployments")
    ).to_contain_text(
        "Kubernetes does not allow ada to delete DynamoGraphDeployments in namespace default"
    )

    rbac.bind("ada-edit", role="dgd-editor", namespace="default", user="ada")
    kube.forget()  # as 10 seconds later
    page.reload()
    expect(page.get_by_role("link", name="Delete")).to_be_visible()
