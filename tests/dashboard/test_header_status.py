"""Every HTMX answer carries the header's cluster status out of band, so an open tab's header
agrees with the table, details or preview it just got."""

import re

from deployments import mirror
from tests.deploy.conftest import form_data

HTMX = {"HX-Request": "true"}
OOB_STATUS = re.compile(r'<div id="cluster-status"[^>]*data-cluster-state="(\w+)"[^>]*hx-swap-oob')


def oob_state(response) -> str | None:
    found = OOB_STATUS.search(response.content.decode())
    return found.group(1) if found else None


def test_poll_answers_carry_the_header_status_during_an_outage(
    member_client, cluster_sandbox, create_dgd
):
    create_dgd("llama")
    # The header's last check says Connected, and stays so for its 30 s.
    assert "Cluster: Connected" in member_client.get("/models/").content.decode()
    assert oob_state(member_client.get("/deployments/", headers=HTMX)) == "connected"

    cluster_sandbox.stop()  # the outage
    mirror.shared_cache.expire(lambda key: key[1] != "cluster")
    polls = {
        "table": member_client.get("/deployments/", headers=HTMX),
        "details": member_client.get("/deployments/default/llama/", headers=HTMX),
        "preview": member_client.get(
            "/deployments/new/", {**form_data(), "name": "x"}, headers=HTMX
        ),
    }
    for what, response in polls.items():
        assert response.status_code == 200, what
        assert oob_state(response) == "unreachable", what


def test_an_unchanged_poll_still_corrects_the_header(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama")
    html = member_client.get("/deployments/", headers=HTMX).content.decode()
    fingerprint = re.search(r'"fp": "(\w+)"', html).group(1)
    unchanged = {"fp": fingerprint}
    # The tab shows what the server knows: nothing to send.
    shown = {**HTMX, "X-Dynamote-Cluster": "connected"}
    assert member_client.get("/deployments/", unchanged, headers=shown).status_code == 204
    # The tab shows another state than the server knows: only the header is swapped.
    stale = {**HTMX, "X-Dynamote-Cluster": "unreachable"}
    response = member_client.get("/deployments/", unchanged, headers=stale)
    assert response.status_code == 200 and response["HX-Reswap"] == "none"
    assert oob_state(response) == "connected"
    assert 'id="deployments-table"' not in response.content.decode()


def test_full_pages_have_one_header_status(member_client, cluster_sandbox):
    html = member_client.get("/deployments/?wait=1").content.decode()
    assert html.count('id="cluster-status"') == 1 and "hx-swap-oob" not in html
