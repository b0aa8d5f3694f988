"""Scaling from a dashboard row: the steppers' dialog, then the same review and apply path."""

from django.urls import reverse

from tests.factories import grant_role

INDEX = "/deployments/?wait=1"
ROW_SCALE = "/deployments/default/qwen/scale/?from=index"
SCALE = "/deployments/default/qwen/scale/"


def components(sandbox) -> dict[str, dict]:
    dgd = sandbox.get("dgd", "default", "qwen")
    return {item["name"]: item for item in dgd["spec"]["components"]}


def decode_of(sandbox) -> str:
    return next(name for name in components(sandbox) if "Decode" in name)


def test_each_row_offers_scale(member_client, disagg):
    page = member_client.get(INDEX)
    assert b'aria-label="Scale qwen"' in page.content
    assert f'href="{reverse("deployments:import")}"'.encode() in page.content


def test_a_viewer_sees_scale_greyed_with_the_reason(client, disagg, django_user_model):
    viewer = django_user_model.objects.create_user("vera", password="vera-password-1")
    grant_role(viewer, "viewer")
    client.force_login(viewer)
    page = client.get(INDEX).content.decode()
    assert 'aria-label="Scale qwen"' not in page
    assert "You need the Deployer role in namespace default to scale deployments." in page
    assert "You need the Deployer role in any namespace to import manifests." in page
    assert client.get(ROW_SCALE, headers={"HX-Request": "true"}).status_code == 403


def test_the_dialog_has_a_stepper_per_component_with_its_count(member_client, disagg):
    dialog = member_client.get(ROW_SCALE, headers={"HX-Request": "true"})
    assert dialog.status_code == 200
    assert dialog.content.lstrip().startswith(b"<dialog")
    html = dialog.content.decode()
    for name in components(disagg):
        assert f'aria-label="Desired {name} replicas"' in html
        assert f'name="current-{name}" value="1"' in html
    assert 'name="from" value="index"' in html
    # Without JavaScript the same steppers come as a page.
    page = member_client.get(ROW_SCALE)
    assert page.status_code == 200
    assert f'aria-label="Desired {decode_of(disagg)} replicas"'.encode() in page.content


def test_a_row_scale_is_reviewed_then_applied_and_returns_to_the_dashboard(member_client, disagg):
    decode = decode_of(disagg)
    version = disagg.get("dgd", "default", "qwen")["metadata"]["resourceVersion"]
    form = {"from": "index", "resource_version": version, f"current-{decode}": "1"}
    review = member_client.post(SCALE, {**form, f"replicas-{decode}": "40"})
    assert review.status_code == 200
    preview = review.context["preview"]
    assert "replicas only: no restart" in preview.summary.sentences
    assert preview.warnings[0].endswith("will stay Pending.")  # the GPU fit, as on the details
    assert b'name="from" value="index"' in review.content
    assert components(disagg)[decode]["replicas"] == 1
    applied = member_client.post(
        SCALE,
        {
            "from": "index",
            f"replicas-{decode}": "2",
            "resource_version": preview.resource_version,
            "apply": "1",
        },
    )
    assert applied.status_code == 302
    assert applied["Location"] == reverse("deployments:index")
    assert components(disagg)[decode]["replicas"] == 2


def test_a_row_scale_to_zero_needs_the_confirmation(member_client, disagg):
    decode = decode_of(disagg)
    data = {"from": "index", f"replicas-{decode}": "0", "apply": "1"}
    refused = member_client.post(SCALE, data)
    assert refused.status_code == 400
    assert "confirm" in refused.context["refused"].message
    assert components(disagg)[decode]["replicas"] == 1
    applied = member_client.post(SCALE, {**data, "confirm_zero": "1"})
    assert applied["Location"] == reverse("deployments:index")
    assert components(disagg)[decode]["replicas"] == 0


def test_a_cluster_failure_sends_the_dashboard_back_with_the_message(member_client, disagg):
    from deployments import mirror

    mirror.reset()
    disagg.fail_next(20, 500)
    response = member_client.get(ROW_SCALE, headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == reverse("deployments:index")
    disagg.clear_faults()
    page = member_client.get(INDEX)
    assert "Cannot scale qwen: The cluster answered HTTP 500" in page.content.decode()
