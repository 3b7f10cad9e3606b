"""A lecture hall in a real browser: two replicas of the app behind HAProxy (deploy/run-local.sh 2 PORT),
one shared model store. Sessions keep their replica, see each other's models, and survive the other
replica's death; HAProxy's cookie (mnist_replica=r1, r2) and stats socket say which replica is which.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e import browser_tools
from tests.e2e.conftest import (
    CHROMIUM,
    ROOT,
    assert_no_exception,
    assert_no_server_errors,
    free_port,
    open_page,
    wait_for_idle,
    watch_runs,
)
from tests.e2e.test_app_browser import STROKES, draw, prediction

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPLICAS = 2
COOKIE = "mnist_replica"  # deploy/haproxy.cfg: HAProxy's cookie naming a browser's replica
START_SECONDS = 300  # two replicas and HAProxy on a loaded two-core machine
SEEN_SECONDS = 60  # for a model saved elsewhere to show in an open page: a few seconds, on a quiet machine
DOWN_SECONDS = 60  # for HAProxy to take a killed replica out of rotation: three failed checks, 2 s apart
SIDEBAR_LINK = "[data-testid='stSidebarNav'] a"
PICKER = "[data-testid='stSidebar'] [data-testid='stSelectbox']"
SUCCESS = "[data-testid='stAlertContentSuccess']"
TITLE = "[data-testid='stMain'] h1"
# Records every connection state the page's app goes through (Streamlit's data-test-connection-state):
# a session that never lost its server sees CONNECTED alone.
CONNECTIONS = """() => {
  const seen = window.__connections = [];
  const note = () => {
    const app = document.querySelector("[data-testid='stApp']");
    const state = app && app.getAttribute("data-test-connection-state");
    if (state && seen[seen.length - 1] !== state) seen.push(state);
  };
  new MutationObserver(note).observe(document, {subtree: true, attributes: true,
                                                attributeFilter: ["data-test-connection-state"]});
  note();
}"""
RECONNECTED = "() => window.__connections.length > 1 && window.__connections.at(-1) === 'CONNECTED'"


@dataclass
class Hall:
    """deploy/run-local.sh running: where it answers, its replicas (name -> pid), its files."""

    url: str
    process: subprocess.Popen
    run_dir: Path
    store: Path
    replicas: dict[str, int]
    haproxy_pid: int

    def states(self) -> dict[str, str]:
        """Each replica's state as HAProxy sees it ("UP", "DOWN", ...), from its stats socket."""
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(self.run_dir / "haproxy.sock"))
            client.sendall(b"show stat\n")
            answer = b"".join(iter(lambda: client.recv(65536), b"")).decode()
        rows = [line.split(",") for line in answer.splitlines() if line and not line.startswith("#")]
        return {row[1]: row[17] for row in rows if row[0] == "replicas" and row[1] in self.replicas}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    """`deploy/run-local.sh 2 PORT` on a copy of the shipped models; stopped with Ctrl-C (SIGINT) at the
    end, which must stop every replica and HAProxy."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (CI installs it)")
    if shutil.which("haproxy") is None:
        pytest.skip("HAProxy is not installed (CI installs Debian's haproxy)")
    work = tmp_path_factory.mktemp("hall")
    store = work / "models"
    browser_tools.ensure_model(store)
    env = {
        **os.environ,
        "MNIST_MLP_MODELS": str(store),
        "MNIST_MLP_DRAWINGS": str(work / "drawings"),
        "MNIST_MLP_OFFLINE": "1",
        "MNIST_MLP_NO_PRELOAD": "1",  # no warm-up training on each replica: the tests train nothing
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "HALL_RUN_DIR": str(work / "run"),
    }
    env.pop("MNIST_MLP_STORE_POLL_SECONDS", None)  # open pages look for new models, as in a hall
    env.pop("STREAMLIT_SERVER_COOKIE_SECRET", None)  # the script makes one for all replicas
    port = free_port()
    log = work / "run-local.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "run-local.sh"), str(REPLICAS), str(port)],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    run_dir = work / "run"
    try:
        deadline = time.monotonic() + START_SECONDS
        while "ready: " not in log.read_text():
            assert process.poll() is None, (
                f"run-local.sh exited with {process.returncode}:\n{log.read_text()}"
            )
            assert time.monotonic() < deadline, (
                f"run-local.sh not ready in {START_SECONDS} s:\n{log.read_text()}"
            )
            time.sleep(0.3)
        replicas = {
            line.split()[0]: int(line.split()[2]) for line in (run_dir / "replicas").read_text().splitlines()
        }
        haproxy_pid = int((run_dir / "haproxy.pid").read_text())
        yield Hall(f"http://127.0.0.1:{port}", process, run_dir, store, replicas, haproxy_pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    stopped = process.returncode
    assert stopped == 130, f"run-local.sh ended with {stopped} on Ctrl-C:\n{log.read_text()[-3000:]}"
    left = [pid for pid in [*replicas.values(), haproxy_pid] if alive(pid)]
    assert not left, f"run-local.sh left processes running: {left}"
    for name in replicas:
        assert_no_server_errors((run_dir / f"{name}.log").read_text(errors="replace"))


def replica_of(page) -> str:
    """The replica HAProxy routes this browser context to: its cookie's value ("" before any)."""
    return next((c["value"] for c in page.context.cookies() if c["name"] == COOKIE), "")


def sessions_on_every_replica(browser, hall: Hall, path: str = "") -> dict[str, object]:
    """One open page per replica: new browser contexts (each a new session) until every replica has one."""
    pages: dict[str, object] = {}
    for _ in range(4 * REPLICAS):
        page = watch_runs(browser.new_context(viewport=browser_tools.VIEWPORT)).new_page()
        open_page(page, hall.url, path)
        replica = replica_of(page)
        if replica in pages or replica not in hall.replicas:
            page.context.close()
        else:
            pages[replica] = page
        if len(pages) == len(hall.replicas):
            return pages
    raise AssertionError(f"new sessions reached only {sorted(pages)} of {sorted(hall.replicas)}")


def go_to(page, title: str) -> None:
    """Another page of the app through the sidebar: a rerun of the same session, no new page load."""
    before = page.url
    page.locator(SIDEBAR_LINK).filter(has_text=title).first.click()
    page.wait_for_url(lambda url: url != before, timeout=60_000)
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    wait_for_idle(page)


def downloaded(page, label: str, attempts: int = 3) -> bytes:
    """The bytes a download button gives. Its data is made on the click (a deferred download); a click
    that lands while the page reruns (a look at the store, on a loaded machine) can start none, so an
    unanswered click is tried again once the page is idle."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    button = page.locator("[data-testid='stDownloadButton'] button").filter(has_text=label)
    for attempt in range(attempts):
        wait_for_idle(page)
        try:
            with page.expect_download(timeout=40_000) as download:
                button.click()
            return Path(download.value.path()).read_bytes()
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def picker_options(page) -> list[str]:
    """The sidebar picker's choices, read by opening it and closing it again (no rerun)."""
    page.locator(PICKER).first.click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=30_000)
    texts = [text.strip() for text in options.all_inner_texts()]
    page.keyboard.press("Escape")
    options.first.wait_for(state="detached", timeout=30_000)
    return texts


def upload(page, keras_file: Path) -> None:
    """On the Models page: upload `keras_file` and add it to the store under its own name."""
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(keras_file))
    page.locator("[data-testid='stFileChipName']").filter(has_text=keras_file.name).wait_for(timeout=60_000)
    page.locator("[data-testid='stFileChipIconSpinner']").wait_for(state="detached", timeout=60_000)
    wait_for_idle(page)
    page.locator("[data-testid='stButton'] button").filter(has_text="Add to the store").click()
    page.locator(SUCCESS).filter(has_text=f"Added '{keras_file.stem}'").wait_for(timeout=120_000)


def test_each_session_keeps_its_replica_and_sees_the_models_saved_through_the_other(browser, hall, tmp_path):
    pages = sessions_on_every_replica(browser, hall)
    shipped = hall.store / "digits-mlp" / "model.keras"
    for replica, page in pages.items():
        go_to(page, "Draw")
        draw(page, STROKES["7"])
        assert prediction(page) == "7"
        go_to(page, "Models")
        assert downloaded(page, "Download .keras") == shipped.read_bytes()  # from its replica
        assert replica_of(page) == replica

    for replica, page in pages.items():  # each uploads a model; every other replica's page shows it
        others = {name: other for name, other in pages.items() if other is not page}
        runs_before = page.evaluate("() => window.__scriptRuns.started")
        keras_file = tmp_path / f"hall-{replica}.keras"
        shutil.copyfile(shipped, keras_file)
        upload(page, keras_file)
        card = json.loads((hall.store / keras_file.stem / "card.json").read_text())
        assert card["name"] == keras_file.stem and card["saved_by"] == "upload"
        assert card["data_source"].startswith(f"unknown: uploaded as {keras_file.name};")
        for other in others.values():
            deadline = time.monotonic() + SEEN_SECONDS
            while keras_file.stem not in picker_options(other):  # no click: its page reruns by itself
                assert time.monotonic() < deadline, f"{keras_file.stem} not in the other replica's picker"
                other.wait_for_timeout(500)
        # the uploading page has looked at the store since (its look runs every few seconds) and kept
        # its message: its own save does not rerun it
        page.wait_for_function(f"() => window.__scriptRuns.started >= {runs_before + 3}", timeout=60_000)
        assert page.locator(SUCCESS).filter(has_text=f"Added '{keras_file.stem}'").count() == 1
        assert_no_exception(page)
        assert replica_of(page) == replica
    for page in pages.values():
        page.context.close()


def test_a_killed_replica_leaves_the_other_s_sessions_alone_and_new_sessions_land_on_the_survivor(
    browser, hall, tmp_path
):
    pages = sessions_on_every_replica(browser, hall, "draw")
    victim, survivor = sorted(pages)
    for page in pages.values():
        page.evaluate(CONNECTIONS)
    survivor_page = pages[survivor]
    draw(survivor_page, STROKES["7"])
    assert prediction(survivor_page) == "7"

    os.kill(hall.replicas[victim], signal.SIGKILL)
    deadline = time.monotonic() + DOWN_SECONDS
    while hall.states()[victim] == "UP":
        assert time.monotonic() < deadline, f"HAProxy still sends browsers to {victim}: {hall.states()}"
        time.sleep(0.5)
    assert hall.states()[survivor] == "UP"

    # the survivor's session carries on: never disconnected, its drawing still read, a new one too
    assert survivor_page.evaluate("() => window.__connections") == ["CONNECTED"]
    assert prediction(survivor_page) == "7"
    survivor_page.locator("[data-testid='stButton'] button").filter(has_text="Clear").click()
    wait_for_idle(survivor_page)
    draw(survivor_page, STROKES["1"])
    assert prediction(survivor_page) == "1"
    assert replica_of(survivor_page) == survivor
    assert survivor_page.evaluate("() => window.__connections") == ["CONNECTED"]

    # the victim's page lost its server and is served again by the survivor, as a new session there
    victim_page = pages[victim]
    victim_page.wait_for_function(RECONNECTED, timeout=120_000)
    wait_for_idle(victim_page)
    assert replica_of(victim_page) == survivor
    go_to(victim_page, "Models")
    # its requests follow its new session: HAProxy's cookie now names the survivor
    keras_file = tmp_path / "after-failover.keras"
    shutil.copyfile(hall.store / "digits-mlp" / "model.keras", keras_file)
    upload(victim_page, keras_file)
    assert json.loads((hall.store / keras_file.stem / "card.json").read_text())["saved_by"] == "upload"
    assert_no_exception(victim_page)

    for _ in range(2):  # new sessions land on the survivor, and are served
        page = watch_runs(browser.new_context(viewport=browser_tools.VIEWPORT)).new_page()
        open_page(page, hall.url)
        assert replica_of(page) == survivor
        assert page.locator(TITLE).first.inner_text() == "Handwriting, read by a multi-layer perceptron"
        assert_no_exception(page)
        page.context.close()
    for page in pages.values():
        page.context.close()
