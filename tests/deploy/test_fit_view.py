"""The GPU fit panel of the deploy form, against the sandbox's nodes (2 x 8 H100, 1 x 4 L40S)."""

from tests.deploy.conftest import NEW_URL, form_data

HTMX = {"HX-Request": "true"}


def fit(client, **overrides):
    response = client.get(NEW_URL, form_data(**overrides), headers=HTMX)
    assert response.status_code == 200
    return response.context_data["fit"]


def test_the_sentence_states_the_free_gpus_it_means(member_client, cluster_sandbox):
    worker = fit(member_client).fits[0]
    assert worker.message == "Fits: 2 nodes have 8 free H100 80GB; 1 node has 4 free L40S 48GB."


def test_more_gpus_than_a_node_has_can_never_fit(member_client, cluster_sandbox):
    worker = fit(member_client, tensor_parallel_size=8, replicas=3).fits[0]
    assert worker.status == "never"
    assert worker.message.startswith("Can never fit on this cluster")


def test_gpus_in_use_mean_no_room_right_now(member_client, cluster_sandbox):
    for name in ("one", "two"):
        member_client.post(
            NEW_URL, form_data(idempotency_key=name, name=name, tensor_parallel_size=8)
        )
    cluster_sandbox.advance(30)
    worker = fit(member_client, tensor_parallel_size=8).fits[0]
    assert worker.status == "busy"
    assert worker.message.startswith("No room right now")


def test_disaggregated_says_the_overall_verdict_first(member_client, cluster_sandbox):
    data = dict(
        mode="disaggregated",
        prefill_replicas=1,
        prefill_tensor_parallel_size=8,
        decode_replicas=2,
        decode_tensor_parallel_size=8,
    )
    report = fit(member_client, **data)
    assert [f.status for f in report.fits] == ["fits", "fits"]
    assert report.verdict.status == "never"
    html = member_client.get(NEW_URL, form_data(**data), headers=HTMX).content.decode()
    assert html.index("data-fit-verdict") < html.index('data-fit="fits"')
    assert "Can never fit on this cluster: together the workers need 24 GPUs" in html
