"""Regenerates the README screenshots in docs/screenshots/ from a sandbox demo of Dynamote.

Starts a sandbox cluster with a manual clock in this process, a throwaway Dynamote
(`manage.py runserver --noreload` on a free port, its own SQLite database and account),
creates deployments through the JSON API, moves the sandbox's clock so they land in
different states, and photographs the pages in Chromium. Everything is removed afterwards.

Two runs give the same PNGs: Dynamote runs on a frozen clock (NOW, with time-machine), the
sandbox's manual clock is set from it, and the sandbox's uids and pod names come from SEED.

    uv run python scripts/screenshots.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from sandbox import ManualClock, SandboxCluster  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
USERNAME = "demo"
WIDE = {"width": 1440, "height": 900}
DEPLOY = {"width": 1440, "height": 1200}
DASHBOARD = {"width": 1440, "height": 560}
PHONE = {"width": 375, "height": 812}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    # Rasterise the same way every run, so the same page gives the same pixels.
    "--force-color-profile=srgb",
    "--disable-partial-raster",
    "--num-raster-threads=1",
    "--run-all-compositor-stages-before-draw",
]
# The moment the screenshots show: Dynamote's clock stands still there.
NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
# The sandbox's object uids and generated names (pod suffixes) follow from this seed.
SEED = 10
# Runs manage.py with the clock frozen at argv[1] (epoch seconds); monotonic time still runs.
_FROZEN_MANAGE = (
    "import runpy, sys, time_machine\n"
    "time_machine.travel(float(sys.argv[1]), tick=False).start()\n"
    "sys.argv = ['manage.py', *sys.argv[2:]]\n"
    "runpy.run_path('manage.py', run_name='__main__')\n"
)


def manage_command(*args: str) -> list[str]:
    """`python manage.py ARGS` on Dynamote's frozen clock (NOW)."""
    return [sys.executable, "-c", _FROZEN_MANAGE, str(NOW.timestamp()), *args]


def chromium_path() -> str:
    """Chromium from DYNAMOTE_CHROMIUM, /usr/bin/chromium or the PATH."""
    candidate = os.environ.get("DYNAMOTE_CHROMIUM") or "/usr/bin/chromium"
    found = (
        candidate
        if Path(candidate).is_file()
        else shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        sys.exit(f"No Chromium at {candidate!r}: install it or set DYNAMOTE_CHROMIUM.")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dynamote_env(sandbox: SandboxCluster, var_dir: Path, password: str) -> dict[str, str]:
    """Settings of a throwaway Dynamote connected to the sandbox."""
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "DATABASE_URL")}
    env.update(
        DJANGO_DEBUG="true",
        DYNAMOTE_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'db.sqlite3'}",
        DYNAMOTE_KUBECONFIG=str(sandbox.kubeconfig_path),
        DYNAMOTE_KUBE_CONTEXT="",
        DYNAMOTE_SANDBOX="1",
        DYNAMOTE_LOG_LEVEL="WARNING",
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        manage_command(*args),
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def dynamote_server(env: dict[str, str]) -> Iterator[str]:
    """A migrated Dynamote with one account, serving on a free port; yields its URL."""
    var_dir = Path(env["DYNAMOTE_VAR_DIR"])
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "createsuperuser", "--noinput", "--username", USERNAME, "--email", "")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = var_dir / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            manage_command("runserver", "--noreload", f"127.0.0.1:{port}"),
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/health", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise SystemExit(f"Dynamote did not start:\n{tail}") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def log_in(page: Page, url: str, password: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/models/")


def deploy(page: Page, url: str, **config) -> None:
    """Creates a deployment through Dynamote's JSON API with the browser's session."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{url}/api/deployments",
        data=json.dumps(config),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": token,
            "Referer": f"{url}/",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    if response.status != 201:
        raise SystemExit(f"Creating {config} failed: {response.status} {response.text()}")


def settle(page: Page) -> None:
    """Waits until no HTMX request is in flight and the network is quiet."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("!document.querySelector('.htmx-request')")


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    settle(page)
    # From the top, on whole pixels: a swap or focus may leave the page scrolled by a fraction.
    page.evaluate(
        "window.scrollTo(0, 0); document.querySelectorAll('*').forEach("
        "(el) => { if (el.scrollTop || el.scrollLeft) el.scrollTo(0, 0); })"
    )
    page.evaluate("document.fonts.ready")
    settle(page)
    page.wait_for_timeout(300)  # let the last swap's layout settle
    path = OUT / name
    page.screenshot(path=path, full_page=full_page, animations="disabled")
    print(f"{path}: {path.stat().st_size // 1024} KB")


def populate(page: Page, url: str, sandbox: SandboxCluster) -> None:
    """Deployments in each interesting state: Ready, Pending (no free GPUs), Deploying."""
    deploy(page, url, modelId="qwen3-8b", engine="vllm", replicas=2, routerMode="kv")
    sandbox.advance(40 * 60)
    deploy(page, url, modelId="gpt-oss-20b", engine="sglang", namespace="dynamo")
    sandbox.advance(25 * 60)
    # Three replicas of 8 GPUs: more than the sandbox's two 8-GPU nodes can hold.
    deploy(
        page,
        url,
        modelId="llama-3-3-70b-instruct",
        engine="vllm",
        replicas=3,
        tensorParallelSize=8,
    )
    sandbox.advance(6 * 60)
    deploy(page, url, modelId="deepseek-r1-distill-llama-8b", engine="trtllm")
    sandbox.advance(4)


def backdate_submissions(env: dict[str, str], sandbox: SandboxCluster) -> None:
    """Stamps each stored submission with its DGD's creation time on the back-dated clock."""
    stamps = {
        f"{dgd['metadata']['namespace']}/{dgd['metadata']['name']}": dgd["metadata"][
            "creationTimestamp"
        ]
        for dgd in sandbox.list("dgd")
    }
    code = (
        "from django.utils.dateparse import parse_datetime\n"
        "from deployments.models import DeploymentSubmission\n"
        f"for key, stamp in {stamps!r}.items():\n"
        "    namespace, name = key.split('/')\n"
        "    DeploymentSubmission.objects.filter(namespace=namespace, name=name).update(\n"
        "        created_at=parse_datetime(stamp), updated_at=parse_datetime(stamp))\n"
    )
    manage(env, "shell", "--command", code)


def catalog_and_deploy_form(page: Page, url: str) -> None:
    """The catalog, and the deploy form of a model whose decode workers need more GPUs."""
    page.goto(f"{url}/models/")
    cards = page.get_by_role("region", name="Catalog results").get_by_role("listitem")
    expect(cards).to_have_count(8)
    shoot(page, "catalog.png", full_page=True)

    page.set_viewport_size(DEPLOY)
    page.goto(f"{url}/deployments/new/?model=llama-3-3-70b-instruct")
    page.get_by_role("radio", name="Disaggregated").check()
    page.get_by_label("Decode GPUs per worker (TP)").select_option("2")
    page.get_by_label("Router mode").select_option("kv")
    fit = page.locator("#fit-wide")
    expect(fit).to_contain_text("prefill: Fits")
    expect(fit).to_contain_text(
        "decode: Can never fit on this cluster at TP 2: needs at least TP 4"
    )
    expect(page.get_by_label("Manifest YAML")).to_contain_text("--disaggregation-mode")
    page.locator(":focus").blur()
    shoot(page, "deploy.png")
    page.set_viewport_size(WIDE)


def phone_deploy_form(browser: Browser, url: str, state: dict) -> None:
    """The deploy form at 375 px, at twice the pixels so it stays sharp in the README."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, storage_state=state)
    try:
        page = context.new_page()
        page.goto(f"{url}/deployments/new/?model=qwen3-8b")
        expect(page.get_by_label("Manifest YAML")).to_contain_text("kind: DynamoGraphDeployment")
        shoot(page, "deploy-phone.png")
    finally:
        context.close()


def dashboard_and_details(page: Page, url: str) -> None:
    """The deployments table, and the details of the deployment that waits for GPUs."""
    page.set_viewport_size(DASHBOARD)
    page.goto(f"{url}/deployments/")
    badges = page.locator("tr[data-deployment] [data-badge]")
    expect(badges).to_have_count(4)
    for label in ("Ready", "Deploying", "Pending"):
        expect(badges.filter(has_text=label).first).to_be_visible()
    shoot(page, "dashboard.png")
    page.set_viewport_size(WIDE)

    page.goto(f"{url}/deployments/default/llama-3-3-70b-instruct-vllm/")
    expect(page.locator("[data-why-not-ready]")).to_contain_text("GPU")
    expect(page.get_by_role("table", name="Pods").locator("tbody tr").first).to_be_visible()
    shoot(page, "details.png", full_page=True)


def main() -> None:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    OUT = parser.parse_args().out.resolve()
    OUT.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="dynamote-screenshots-") as tmp:
        work = Path(tmp)
        # Start the manual clock 75 minutes before NOW: populate() moves it up to about NOW,
        # so the deployments' ages read naturally and the same every time.
        clock = ManualClock(start=NOW.timestamp() - 75 * 60)
        sandbox = SandboxCluster(
            clock=clock, kubeconfig_path=work / "kubeconfig", seed=SEED
        ).start()
        try:
            env = dynamote_env(sandbox, work / "var", password)
            with (
                dynamote_server(env) as url,
                sync_playwright() as playwright,
            ):
                browser = playwright.chromium.launch(
                    executable_path=chromium_path(), args=CHROMIUM_ARGS
                )
                try:
                    page = browser.new_page(viewport=WIDE, device_scale_factor=1)
                    page.set_default_timeout(15_000)
                    log_in(page, url, password)
                    catalog_and_deploy_form(page, url)
                    phone_deploy_form(browser, url, page.context.storage_state())
                    populate(page, url, sandbox)
                    backdate_submissions(env, sandbox)
                    dashboard_and_details(page, url)
                finally:
                    browser.close()
        finally:
            sandbox.close()


if __name__ == "__main__":
    main()
