"""The Logs section: follow a worker's log live, all pods of a component, filter; streams close."""

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest
from tests.logs.conftest import pods_of

pytestmark = pytest.mark.e2e


def until(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not check():
        time.sleep(0.1)
    return check()


@pytest.fixture
def starting(cluster_sandbox):
    """DGD llama with two workers whose pods exist but whose containers have not started."""
    mirror.reset()
    cluster.dgd_create(manifest=dgd_manifest("llama", workers=2))
    cluster_sandbox.advance(2)
    yield cluster_sandbox
    mirror.reset()


def test_follow_a_worker_while_it_starts_then_all_its_pods_and_filter(
    logged_in_page, starting, live_server
):
    page = logged_in_page
    sandbox = starting
    first, second = pods_of(sandbox, "llama")
    page.goto(f"{live_server.url}/deployments/default/llama/", timeout=30_000)
    logs = page.get_by_role("region", name="Logs")
    logs.get_by_label("Component").select_option("VllmWorker")
    logs.get_by_label("Pod").select_option(first)
    logs.get_by_role("button", name="Follow").click()
    output = logs.get_by_role("log", name="Log lines")
    expect(output).to_contain_text("is waiting to start: ContainerCreating")
    assert until(lambda: sandbox.api.log_streams == 0)  # nothing to follow yet
    sandbox.advance(6)  # the container starts: its first lines arrive while the page is open
    expect(output).to_contain_text("Starting to load model Qwen/Qwen3-0.6B", timeout=10_000)
    expect(output).not_to_contain_text("worker ready")
    assert until(lambda: sandbox.api.log_streams == 1)
    sandbox.advance(10)
    expect(output).to_contain_text("worker ready")

    logs.get_by_role("button", name="Stop").click()
    assert until(lambda: sandbox.api.log_streams == 0)
    logs.get_by_label("Pod").select_option("")
    logs.get_by_role("button", name="Follow").click()
    expect(logs.get_by_role("status")).to_have_text("Following 2 pods (main).")
    expect(output).to_contain_text(f"{second} ")
    expect(output).to_contain_text(f"{first} ")
    assert until(lambda: sandbox.api.log_streams == 2)

    logs.get_by_label("Filter lines").fill("worker ready")
    visible = output.locator("div:visible")
    expect(visible).to_have_count(2)
    expect(visible.first).to_contain_text("worker ready")
    logs.get_by_label("Filter lines").fill("")
    expect(output.locator("div:visible")).not_to_have_count(2)

    # Closing the page closes the browser's stream, and Dynamote hangs up on the cluster.
    page.close()
    assert until(lambda: sandbox.api.log_streams == 0), sandbox.api.log_streams


def test_scale_a_component_up_while_following_all_its_pods(logged_in_page, starting, live_server):
    page = logged_in_page
    sandbox = starting
    sandbox.advance(60)
    workers = pods_of(sandbox, "llama")
    page.goto(f"{live_server.url}/deployments/default/llama/", timeout=30_000)
    logs = page.get_by_role("region", name="Logs")
    logs.get_by_label("Component").select_option("VllmWorker")
    logs.get_by_role("button", name="Follow").click()
    status = logs.get_by_role("status")
    expect(status).to_have_text("Following 2 pods (main).")
    assert until(lambda: sandbox.api.log_streams == 2)

    # Another client scales the workers to three while the page follows them.
    patch = [{"op": "replace", "path": "/spec/components/1/replicas", "value": 3}]
    subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            str(sandbox.kubeconfig_path),
            "patch",
            "dynamographdeployment",
            "llama",
            "-n",
            "default",
            "--type",
            "json",
            "-p",
            json.dumps(patch),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    sandbox.advance(2)
    (new,) = set(pods_of(sandbox, "llama")) - set(workers)
    output = logs.get_by_role("log", name="Log lines")
    expect(output).to_contain_text(f"+ pod {new} joined", timeout=10_000)
    expect(status).to_have_text("Following 3 pods (main).")
    sandbox.advance(20)  # the new worker starts and gets ready
    ready = output.locator("div").filter(has_text="worker ready")
    expect(ready).to_have_count(3, timeout=10_000)
    mine = ready.filter(has_text=new)
    expect(mine).to_have_count(1)
    expect(mine.locator("span")).to_have_text(new)  # its coloured prefix
    others = [ready.filter(has_text=w).locator("span") for w in workers]
    colours = {mine.locator("span").get_attribute("class")}
    colours |= {prefix.get_attribute("class") for prefix in others}
    assert len(colours) == 3, colours
    assert until(lambda: sandbox.api.log_streams == 3)

    # The cluster goes away for a moment: a line says so, and the follow goes on after it.
    sandbox.api.apply_faults({"outage": 1.5})
    expect(output).to_contain_text("Lost the cluster:", timeout=10_000)
    expect(output).to_contain_text("The cluster answers again: following on.", timeout=15_000)
    assert until(lambda: sandbox.api.log_streams == 3)
    expect(status).to_have_text("Following 3 pods (main).")

    # Closing the page hangs up on every pod's stream, the one that joined included.
    page.close()
    assert until(lambda: sandbox.api.log_streams == 0), sandbox.api.log_streams


def test_the_api_streams_a_followed_log_and_hangs_up_with_its_client(
    logged_in_page, starting, live_server
):
    sandbox = starting
    sandbox.advance(20)
    worker = pods_of(sandbox, "llama")[0]
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in logged_in_page.context.cookies())
    request = urllib.request.Request(
        f"{live_server.url}/api/deployments/llama/logs?namespace=default&pod={worker}"
        "&follow=true&tailLines=1",
        headers={"Cookie": cookie},
    )
    response = urllib.request.urlopen(request, timeout=10)
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "worker ready" in response.readline().decode()  # tailLines=1: the last line so far
    assert until(lambda: sandbox.api.log_streams == 1)
    sandbox.advance(10)  # a new stats line is written while the response is open
    line = response.readline().decode()
    assert "Avg generation throughput" in line
    response.close()
    assert until(lambda: sandbox.api.log_streams == 0), sandbox.api.log_streams


def test_the_logs_section_fits_a_phone(logged_in_page, starting, live_server):
    page = logged_in_page
    starting.advance(60)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/deployments/default/llama/", timeout=30_000)
    logs = page.get_by_role("region", name="Logs")
    logs.get_by_label("Component").select_option("VllmWorker")
    logs.get_by_role("button", name="Follow").click()
    expect(logs.get_by_role("log", name="Log lines")).to_contain_text("worker ready")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    logs.get_by_role("button", name="Wrap lines").click()
    expect(logs.get_by_role("button", name="Wrap lines")).to_have_attribute("aria-pressed", "true")
    logs.get_by_role("button", name="Pause auto-scroll").click()
    expect(logs.get_by_role("button", name="Resume auto-scroll")).to_be_visible()
    with page.expect_download() as download:
        logs.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "llama.log"
    assert "worker ready" in Path(download.value.path()).read_text()
