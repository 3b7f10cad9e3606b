"""Browser tests: a real Streamlit server and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update",
]  # fmt: skip

pytestmark = pytest.mark.e2e

# Counts the app's script runs in the page, so that a wait after a click waits for the run the click
# started rather than for a fixed time: a run starts when the app's script state leaves notRunning
# (Streamlit sets rerunRequested at once on a widget change) and ends when it comes back. Installed
# in each browser context (`watch_runs`); `waited` is how many runs the last wait_for_idle saw.
RUN_COUNTER = """(() => {
  if (window.__scriptRuns) return;
  const runs = {started: 0, finished: 0, waited: 0};
  window.__scriptRuns = runs;
  const attribute = "data-test-script-state";
  const busy = (state) => ["running", "rerunRequested", "stopRequested"].includes(state);
  let last = null;
  const step = (state) => {
    if (state === null || state === last) return;
    if (busy(state) && !busy(last)) runs.started += 1;
    if (!busy(state) && busy(last)) runs.finished += 1;
    last = state;
  };
  new MutationObserver((records) => {
    for (const record of records) if (record.type === "attributes") step(record.oldValue);
    const app = document.querySelector("[data-testid='stApp']");
    if (app) step(app.getAttribute(attribute));
  }).observe(document, {subtree: true, childList: true, attributes: true, attributeOldValue: true,
                        attributeFilter: [attribute]});
})()"""
# True once a run has started since the last wait (or where no counter is installed)
RUN_STARTED = "() => !window.__scriptRuns || window.__scriptRuns.started > window.__scriptRuns.waited"
RUNS_SEEN = "() => { if (window.__scriptRuns) window.__scriptRuns.waited = window.__scriptRuns.started; }"
START_GRACE_MS = 3_000  # the most a wait gives an action to start a run; one that starts none costs this
IDLE_STATES = ("[data-test-connection-state='CONNECTED']", "[data-test-script-state='notRunning']")
NO_SKELETONS = "() => document.querySelectorAll(\"[data-testid='stSkeleton']\").length === 0"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {seconds} s")


@pytest.fixture(scope="session")
def e2e_store(tmp_path_factory):
    """A model store for the browser tests: a copy of the shipped models, so tests may change it."""
    folder = tmp_path_factory.mktemp("e2e-models")
    shipped = ROOT / "saved_models"
    for entry in shipped.iterdir() if shipped.is_dir() else []:
        if entry.is_dir() and (entry / "model.keras").is_file():
            shutil.copytree(entry, folder / entry.name)
    if not (folder / "digits-mlp").is_dir():  # no shipped model in this checkout: make a small one
        command = [sys.executable, "-m", "mnist_mlp", "--offline", "train", "--hidden", "128",
                   "--epochs", "8", "--augment", "--out", "digits-mlp", "--store", str(folder)]  # fmt: skip
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=600)
    return folder


@pytest.fixture(scope="session")
def drawings_folder(tmp_path_factory) -> Path:
    """Where the browser tests' server keeps My drawings: never the user's own folder."""
    return tmp_path_factory.mktemp("e2e-drawings")


@pytest.fixture(scope="session")
def app_url(e2e_store, drawings_folder, tmp_path_factory):
    """The URL of a real `streamlit run app.py`, started once for all browser tests."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (CI installs it)")
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = {
        **os.environ,
        "MNIST_MLP_MODELS": str(e2e_store),
        "MNIST_MLP_OFFLINE": "1",
        "MNIST_MLP_DRAWINGS": str(drawings_folder),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # No look for other processes' saves every few seconds (ui.picker.watch_store): its runs would
        # count as the run an action started (RUN_COUNTER). The lecture-hall tests have it on.
        "MNIST_MLP_STORE_POLL_SECONDS": "0",
    }
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    assert_no_server_errors(log.read_text(errors="replace"))


# Streamlit 1.67 gives each ScriptRunner its own lock around the one SessionState of a session, so
# when a new run starts while the last one is still finishing, the two can meet in its stale-widget
# clean-up. It is Streamlit's own race (the session carries on; the next run cleans up), seen once in
# CI; every other traceback in a server log still fails the test.
UPSTREAM_RACE = ("in _remove_stale_widgets", "RuntimeError: dictionary changed size during iteration")


def server_errors(log_text: str) -> list[str]:
    """The tracebacks in a server's log, less Streamlit's known stale-widget race (UPSTREAM_RACE)."""
    chunks = log_text.split("Traceback (most recent call last):")[1:]
    return [chunk for chunk in chunks if not all(line in chunk for line in UPSTREAM_RACE)]


def assert_no_server_errors(log_text: str) -> None:
    """A server's log must hold no traceback of ours (see `server_errors`)."""
    errors = server_errors(log_text)
    assert not errors, f"the server logged an error:\n{log_text[-3000:]}"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = watch_runs(browser.new_context(viewport={"width": 1400, "height": 1000}))
    opened = context.new_page()
    yield opened
    context.close()


def open_page(page, url: str, path: str = "") -> None:
    """Open an app page and wait until Streamlit has finished running its script."""
    page.goto(f"{url}/{path}")
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    wait_for_idle(page)


def watch_runs(context):
    """`context`, counting the app's script runs in each of its pages (see RUN_COUNTER)."""
    context.add_init_script(script=RUN_COUNTER)
    return context


def wait_for_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait for the run the last action started (if it started one) to end: until the app is
    connected, its script has finished, and no element is still a skeleton."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # a timeout: the action started no run
        page.wait_for_function(RUN_STARTED, timeout=START_GRACE_MS)
    for state in IDLE_STATES:
        page.locator(f"[data-testid='stApp']{state}").wait_for(state="attached", timeout=timeout_ms)
    page.wait_for_function(NO_SKELETONS, timeout=timeout_ms)
    page.evaluate(RUNS_SEEN)


def assert_no_exception(page) -> None:
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
