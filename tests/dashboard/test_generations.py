"""Status read right on every Dynamo generation, against the sandbox with the real CRDs."""

from kubernetes import client

from deployments.cluster import DGD_PLURAL, GROUP
from tests.fixtures.sandbox import sandbox_api_client
from tests.sandbox.manifests import dgd_v1alpha1

CRD_0_6 = "crds/dynamo-0.6.1/nvidia.com_dynamographdeployments.yaml"


def test_a_ready_deployment_on_dynamo_0_6_counts_its_pods(
    member_client, make_sandbox, use_cluster, shared_dynamo
):
    """0.6's status has no replica counts: a Ready deployment must not show 0 of N."""
    sandbox = make_sandbox(profile="dynamo-0.6", crds=[shared_dynamo / CRD_0_6])
    use_cluster(sandbox)
    dgds = client.CustomObjectsApi(sandbox_api_client(sandbox))
    manifest = dgd_v1alpha1("legacy", replicas=2)
    dgds.create_namespaced_custom_object(GROUP, "v1alpha1", "default", DGD_PLURAL, manifest)
    sandbox.advance(60)
    status = dgds.get_namespaced_custom_object(GROUP, "v1alpha1", "default", DGD_PLURAL, "legacy")
    assert "services" not in status["status"]  # the real 0.6.1 schema has no counts

    listing = member_client.get("/api/deployments").json()["deployments"]
    (row,) = [row for row in listing if row["name"] == "legacy"]
    assert row["status"] == "Ready"
    assert row["replicas"]["desired"] > 0
    assert row["replicas"]["ready"] == row["replicas"]["desired"]

    detail = member_client.get("/api/deployments/legacy?namespace=default").json()
    components = {c["name"]: c for c in detail["components"]}
    assert components["VllmWorker"]["ready"] == 2
