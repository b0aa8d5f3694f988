"""After a scale, the details page shows the pods added or terminating until they settle."""

from deployments import mirror
from deployments.restarts import ScaleProgress

DETAIL = "/deployments/default/qwen/"
SCALE = "/deployments/default/qwen/scale/"


def decode_of(sandbox) -> str:
    dgd = sandbox.get("dgd", "default", "qwen")
    return next(c["name"] for c in dgd["spec"]["components"] if "Decode" in c["name"])


def scale(client, component: str, count: int, **extra) -> None:
    data = {f"replicas-{component}": str(count), "apply": "1", **extra}
    assert client.post(SCALE, data).status_code == 302


def progress(client) -> dict[str, str]:
    mirror.reset()  # read the cluster as it is now, not the last second's copy
    response = client.get(DETAIL)
    return {row.component: row.text for row in response.context["scale_progress"]}


def test_scaling_up_shows_pods_added_and_ready_until_settled(member_client, disagg):
    decode = decode_of(disagg)
    scale(member_client, decode, 3)
    disagg.advance(1)  # the operator creates the pods; they are not ready yet
    shown = progress(member_client)
    assert list(shown) == [decode]  # only the scaled component
    assert shown[decode] == "2 pods added, ready 1 of 3"
    # The live partial the page polls carries it too.
    live = member_client.get(DETAIL, headers={"HX-Request": "true"}).content.decode()
    assert f'data-scale-component="{decode}"' in live
    assert "2 pods added, ready 1 of 3" in live
    disagg.advance(300)
    assert progress(member_client) == {}


def test_scaling_to_zero_shows_pods_terminating(member_client, disagg):
    decode = decode_of(disagg)
    scale(member_client, decode, 0, confirm_zero="1")
    disagg.advance(1)
    mirror.reset()
    page = member_client.get(DETAIL)
    shown = {row.component: row.text for row in page.context["scale_progress"]}
    assert shown == {decode: "1 terminating, ready 0 of 0"}
    assert "1 terminating, ready 0 of 0" in page.content.decode()
    disagg.advance(300)
    assert progress(member_client) == {}


def test_the_progress_sentence():
    assert ScaleProgress("decode", 1, 3, 3, 0, 1).text == "2 pods added, ready 1 of 3"
    assert ScaleProgress("decode", 3, 1, 1, 2, 1).text == "2 terminating, ready 1 of 1"
    assert ScaleProgress("decode", 1, 3, 3, 0, 3).text == "settled: 3 of 3 ready"
    assert ScaleProgress("decode", 1, 3, 2, 0, 1).text == "1 pod added, ready 1 of 3"
