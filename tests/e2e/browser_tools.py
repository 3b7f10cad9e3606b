"""Helpers for the load and fault tests and the latency benchmark: servers on any store, async pages.

The async helpers mirror conftest's and test_app_browser's sync ones, so that many sessions can be
driven at once from one thread; `python -m tests.e2e.browser_tools ARGS` runs `streamlit ARGS`
with saves of models named `$PAUSE_SAVES_ENV...` stopped half-way, for a test to kill the server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.e2e import conftest as sync_tools
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, SCREENSHOTS, free_port, wait_until_healthy
from tests.e2e.test_app_browser import STROKES

VIEWPORT = {"width": 1400, "height": 1000}
# Waits check every 50 ms rather than every animation frame: frames asked for in ten pages at once
# cost the browser more than the app; the page's own clock times a drawing, so this adds nothing.
POLL_MS = 50
CANVAS_PIXELS = 280  # the Draw page's canvas; STROKES are in its coordinates
LOAD_DIGITS = ("1", "7")  # a "0" is 200 mouse moves, six times the browser work of these
STEPS_PER_SEGMENT = 8  # mouse moves between two stroke points, as test_app_browser.draw makes them
PAUSE_SAVES_ENV = "MNIST_MLP_TEST_PAUSE_SAVES"  # a name prefix: saves of such models stop half-way
PAUSE_MARKER_ENV = "MNIST_MLP_TEST_PAUSE_MARKER"  # a file written when such a save has stopped
PAUSE_SECONDS = 120  # a paused save goes on after this, should no test kill the server
# A small stand-in for the shipped model, trained when saved_models/ has none (a checkout whose
# models are not trained yet); about 10 s on two cores.
STAND_IN_COMMAND = ["-m", "mnist_mlp", "--offline", "train", "--hidden", "128", "--epochs", "5",
                    "--augment", "--out", "digits-mlp"]  # fmt: skip

# Idle: no script running (Streamlit's status widget) and nothing still to arrive (its skeletons).
IDLE = "() => !document.querySelector(\"[data-testid='stStatusWidget'], [data-testid='stSkeleton']\")"
TITLE = "[data-testid='stMain'] h1"  # every page opens with its title
NEW_TITLE = """(before) => {
  const title = document.querySelector("[data-testid='stMain'] h1");
  return title !== null && title.innerText !== before;
}"""
CANVAS = "canvas.upper-canvas"  # the Draw page's drawing surface (in the component's shadow DOM)
PAGE_LINKS = "[data-testid='stPageLink']"  # the Home page's last elements
PREDICTION = "[data-testid='stMetric']:has-text('Prediction')"
PROBLEMS = "[data-testid='stException'], [data-testid='stAlertContentError']"
SUCCESS = "[data-testid='stAlertContentSuccess']"
WARNING = "[data-testid='stAlertContentWarning']"
# Installed before a drawing: the page notes when the mouse button goes up (the stroke is finished)
# and when a Prediction metric next appears, both on the page's own clock.
PROBE = """() => {
  if (window.__drawProbe) window.__drawProbe.remove();
  const probe = {strokeEnd: null, shown: null};
  const ended = () => { probe.strokeEnd = performance.now(); };
  const shown = () => [...document.querySelectorAll("[data-testid='stMetric']")]
    .some((metric) => metric.innerText.includes("Prediction"));
  const observer = new MutationObserver(() => {
    if (probe.strokeEnd !== null && probe.shown === null && shown()) probe.shown = performance.now();
  });
  probe.remove = () => { observer.disconnect(); window.removeEventListener("mouseup", ended, true); };
  window.addEventListener("mouseup", ended, true);
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
  window.__drawProbe = probe;
}"""


# ---- Models and servers ----------------------------------------------------------------------------


def has_model(folder: Path) -> bool:
    return any((entry / "model.keras").is_file() for entry in folder.iterdir()) if folder.is_dir() else False


def ensure_model(folder: Path, timeout: float = 300) -> None:
    """Give `folder` a model: the shipped ones when saved_models/ has any, else a small trained one."""
    folder.mkdir(parents=True, exist_ok=True)
    shipped = ROOT / "saved_models"
    for entry in shipped.iterdir() if shipped.is_dir() else []:
        if (entry / "model.keras").is_file() and not (folder / entry.name).exists():
            shutil.copytree(entry, folder / entry.name)
    if not has_model(folder):
        command = [sys.executable, *STAND_IN_COMMAND, "--store", str(folder)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=timeout)


@dataclass
class Server:
    """A running `streamlit run app.py`: where it answers, its process and its log."""

    url: str
    process: subprocess.Popen
    log: Path
    started: float  # time.monotonic() just before the process was started

    def resident_kib(self) -> int:
        """The server's resident memory (VmRSS) in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for process {self.process.pid}")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def kill(self) -> None:
        """SIGKILL, as a crash or the out-of-memory killer would end it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def browser_cpu_seconds() -> float:
    """CPU time used so far by the Chromium processes this process started (through Playwright)."""
    parents, names = {}, {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            names[int(entry.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    total = 0.0
    for pid, name in names.items():
        ancestor, hops = parents.get(pid), 0
        while ancestor and ancestor != os.getpid() and hops < 20:
            ancestor, hops = parents.get(ancestor), hops + 1
        if "chrom" in name and ancestor == os.getpid():
            with contextlib.suppress(OSError):
                total += cpu_seconds(pid)
    return total


def streamlit_arguments(port: int) -> list[str]:
    """The arguments conftest's app_url gives `streamlit run app.py`."""
    return ["run", "app.py", "--server.headless", "true", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]  # fmt: skip


@contextlib.contextmanager
def serve(
    store: Path, log: Path, *, pause_saves: str = "", marker: Path | None = None, wait: bool = True
) -> Iterator[Server]:
    """A `streamlit run app.py` on `store`, stopped on exit; its My drawings are in a folder beside `log`.

    Args:
        pause_saves: saves of models whose name starts with this stop half-way (see _pause_saves).
        marker: the file such a save writes when it has stopped.
        wait: wait until the server answers its health check before yielding.
    """
    port = free_port()
    env = {
        **os.environ,
        "MNIST_MLP_MODELS": str(store),
        "MNIST_MLP_DRAWINGS": str(log.parent / "drawings"),  # never the user's own
        "MNIST_MLP_OFFLINE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    if pause_saves:
        env |= {PAUSE_SAVES_ENV: pause_saves, PAUSE_MARKER_ENV: str(marker)}
        # No file watcher: an edit to any source file makes Streamlit drop the app's modules from
        # sys.modules, and the re-imported store would save without stopping.
        watcher = ["--server.fileWatcherType", "none"]
        command = [sys.executable, "-m", "tests.e2e.browser_tools", *streamlit_arguments(port), *watcher]
    else:
        command = [sys.executable, "-m", "streamlit", *streamlit_arguments(port)]
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log, started)
    try:
        if wait:
            wait_until_healthy(server.url, process)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


async def wait_for_file(path: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    """Wait (without blocking the pages) until `path` exists; TimeoutError when it does not come."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {seconds} s")
        await asyncio.sleep(0.1)


def _pause_saves(prefix: str, marker: Path) -> None:
    """Make store.save stop after writing model.keras, before the card, for names with `prefix`."""
    from mnist_mlp import store

    write_json = store._write_json

    def paused(path: Path, values: dict) -> None:
        if str(values.get("name", "")).startswith(prefix) and path.parent.name.startswith(".saving-"):
            marker.write_text(str(path.parent))
            time.sleep(PAUSE_SECONDS)
        write_json(path, values)

    store._write_json = paused


# ---- Browser pages, driven asynchronously ---------------------------------------------------------


@contextlib.asynccontextmanager
async def chromium():
    """Debian's Chromium under Playwright's async API, as conftest's `browser` fixture launches it."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        except BaseException:  # keep a picture of every open page for the failure's report
            pages = [page for context in browser.contexts for page in context.pages]
            for number, page in enumerate(pages):
                await snapshot(page, f"failure-{number}")
            raise
        finally:
            await browser.close()


async def new_session(browser, url: str, path: str = ""):
    """A new browser context (its own Streamlit session) with one page open at `path`."""
    context = await counted_context(browser)
    page = await context.new_page()
    await open_page(page, url, path)
    return page


async def counted_context(browser):
    """A new browser context that counts the app's script runs, which `wait_for_idle` waits on."""
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(script=sync_tools.RUN_COUNTER)
    return context


async def open_page(page, url: str, path: str = "", timeout_ms: int = 60_000) -> None:
    """conftest.open_page: open an app page and wait until its script has finished and it is drawn."""
    await page.goto(f"{url}/{path}", timeout=timeout_ms)
    await page.wait_for_selector(TITLE, timeout=timeout_ms)
    await wait_for_idle(page, timeout_ms)


async def open_when_ready(
    page, url: str, path: str = "", ready: str = TITLE, timeout_ms: int = 90_000
) -> None:
    """Open a page of a server that may still be starting; return once `ready` shows and the app is idle.

    Used to time start-up: no fixed pause, the page is retried every 50 ms until the server answers.
    """
    from playwright.async_api import Error

    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            await page.goto(f"{url}/{path}", timeout=timeout_ms)
            break
        except Error as err:
            refused = "ERR_CONNECTION_REFUSED" in str(err) or "chrome-error://" in str(err)  # two wordings
            if not refused or time.monotonic() > deadline:
                raise
            await asyncio.sleep(POLL_MS / 1000)
    await page.locator(ready).first.wait_for(timeout=timeout_ms)
    await page.wait_for_function(IDLE, timeout=timeout_ms, polling=POLL_MS)


async def wait_for_idle(page, timeout_ms: int = 60_000) -> None:
    """conftest.wait_for_idle: the run the last action started (if any) has ended and nothing is to come."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # a timeout: the action started no run
        await page.wait_for_function(
            sync_tools.RUN_STARTED, timeout=sync_tools.START_GRACE_MS, polling=POLL_MS
        )
    await page.wait_for_function(IDLE, timeout=timeout_ms, polling=POLL_MS)
    await page.evaluate(sync_tools.RUNS_SEEN)


async def navigate(page, title: str, timeout_ms: int = 60_000) -> None:
    """Go to another page through the sidebar, within the same session, and wait until it is drawn."""
    link = page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first
    href = await link.get_attribute("href", timeout=timeout_ms)
    heading = page.locator(TITLE).first
    before = await heading.inner_text(timeout=timeout_ms) if await heading.count() else ""
    await link.click(timeout=timeout_ms)
    # the address may also carry the page's settings (?model=...): compare paths only
    path = urllib.parse.urlsplit(urllib.parse.urljoin(page.url, href)).path
    await page.wait_for_url(lambda url: urllib.parse.urlsplit(url).path == path, timeout=timeout_ms)
    await page.wait_for_function(NEW_TITLE, arg=before, timeout=timeout_ms, polling=POLL_MS)
    await wait_for_idle(page, timeout_ms)


async def problems(page) -> list[str]:
    """The text of every exception and st.error on the page."""
    return [text.strip() for text in await page.locator(PROBLEMS).all_inner_texts()]


async def draw(page, strokes) -> None:
    """test_app_browser.draw, async: the strokes with the mouse on the Draw page's canvas."""
    canvas = page.locator(CANVAS).first
    await canvas.wait_for(timeout=60_000)
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    scale_x, scale_y = box["width"] / CANVAS_PIXELS, box["height"] / CANVAS_PIXELS
    for stroke in strokes:
        x, y = stroke[0]
        await page.mouse.move(box["x"] + x * scale_x, box["y"] + y * scale_y)
        await page.mouse.down()
        for x, y in stroke[1:]:
            await page.mouse.move(box["x"] + x * scale_x, box["y"] + y * scale_y, steps=STEPS_PER_SEGMENT)
        await page.mouse.up()


async def timed_drawing(page, digit: str, timeout_ms: int = 30_000) -> tuple[float, str]:
    """Draw `digit` on a clear canvas: (ms from the finished stroke to the Prediction shown, prediction)."""
    await page.evaluate(PROBE)
    await draw(page, STROKES[digit])
    probed = "() => window.__drawProbe.shown !== null"
    await page.wait_for_function(probed, timeout=timeout_ms, polling=POLL_MS)
    milliseconds = await page.evaluate("() => window.__drawProbe.shown - window.__drawProbe.strokeEnd")
    value = page.locator(PREDICTION).first.locator("[data-testid='stMetricValue']")
    return milliseconds, (await value.inner_text()).strip()


async def clear_canvas(page, timeout_ms: int = 30_000) -> None:
    """Press Clear and wait for an empty canvas, ready for the next drawing."""
    await page.locator("[data-testid='stButton'] button").filter(has_text="Clear").click(timeout=timeout_ms)
    await page.locator(PREDICTION).wait_for(state="detached", timeout=timeout_ms)
    await wait_for_idle(page, timeout_ms)
    await page.locator(CANVAS).first.wait_for(timeout=timeout_ms)


def selectbox(page, label: str, *, sidebar: bool = False):
    scope = "[data-testid='stSidebar'] " if sidebar else "[data-testid='stMain'] "
    return page.locator(scope + "[data-testid='stSelectbox']").filter(has_text=label).first


async def choose(page, label: str, option: str, *, sidebar: bool = False, timeout_ms: int = 30_000) -> None:
    """Pick `option` in the selectbox labelled `label` (the sidebar's, or the page's)."""
    await selectbox(page, label, sidebar=sidebar).click(timeout=timeout_ms)
    await page.get_by_role("option", name=option, exact=True).click(timeout=timeout_ms)
    await wait_for_idle(page, timeout_ms)


async def chosen(page, label: str, *, sidebar: bool = False, timeout_ms: int = 30_000) -> str:
    """What the selectbox labelled `label` shows as chosen."""
    return await selectbox(page, label, sidebar=sidebar).locator("input").input_value(timeout=timeout_ms)


async def options(page, label: str, *, sidebar: bool = False, timeout_ms: int = 30_000) -> list[str]:
    """The choices a selectbox offers, read by opening it (and closing it again)."""
    await selectbox(page, label, sidebar=sidebar).click(timeout=timeout_ms)
    listed = page.get_by_role("option")
    await listed.first.wait_for(timeout=timeout_ms)
    texts = [text.strip() for text in await listed.all_inner_texts()]
    await page.keyboard.press("Escape")
    return texts


async def start_training(page, preset: str, epochs: int, timeout_ms: int = 60_000) -> None:
    """On the Train page, in a session that has not trained yet: a preset, its epochs, then Start."""
    await choose(page, "Architecture", preset, timeout_ms=timeout_ms)
    # Each preset has its own epochs widget (key train_epochs_<preset>): typing before the page has
    # rerun for the new preset would go into the old one, which a loaded server can be slow to swap.
    field = page.locator(f".st-key-train_epochs_{preset} input")
    await field.fill(str(epochs), timeout=timeout_ms)
    await field.press("Enter", timeout=timeout_ms)
    await wait_for_idle(page, timeout_ms)
    buttons = page.locator("[data-testid='stButton'] button")
    await buttons.filter(has_text="Start training").click(timeout=timeout_ms)
    running_or_done = buttons.filter(has_text="Stop").or_(page.locator(SUCCESS).filter(has_text="Trained to"))
    await running_or_done.first.wait_for(timeout=timeout_ms)  # a short run may end before it shows


async def save_as(page, name: str, timeout_ms: int = 60_000) -> None:
    """After training: type a name and press Save (the outcome is left for the caller to read)."""
    field = page.locator("[data-testid='stTextInput']").filter(has_text="Name").first.locator("input")
    await field.fill(name, timeout=timeout_ms)
    await field.press("Enter", timeout=timeout_ms)
    await wait_for_idle(page, timeout_ms)
    await page.locator("[data-testid='stButton'] button").filter(has_text="Save").click(timeout=timeout_ms)


# ---- Whole sessions: one person drawing and browsing, one training ---------------------------------


@dataclass
class Drawing:
    """One timed drawing: which session, which digit, what the app read, and how long it took."""

    session: int
    index: int
    digit: str
    prediction: str
    milliseconds: float  # from the finished stroke to the Prediction shown, on the page's clock


async def drawing_session(
    browser,
    url: str,
    number: int,
    drawings: int,
    browse: tuple[str, ...] = (),
    page=None,
    reading_seconds: float = 0.0,
) -> tuple[list[Drawing], list[str]]:
    """A person on the Draw page: draw, read, clear, `drawings` times; every other time visit a page.

    Returns the drawings and every problem seen (exceptions, st.error, timeouts), never raising, so
    that one stuck session does not hide what the others saw. `page`: a session already open.
    `reading_seconds`: how long the person looks at each prediction before Clear; 0 draws again at
    once, a stress test rather than a person's pace.
    """
    done: list[Drawing] = []
    seen: list[str] = []
    where = "opening the Draw page"
    try:
        page = page or await new_session(browser, url, "draw")
        for index in range(drawings):
            digit = LOAD_DIGITS[(number + index) % len(LOAD_DIGITS)]
            where = f"drawing {index} ({digit})"
            milliseconds, prediction = await timed_drawing(page, digit)
            done.append(Drawing(number, index, digit, prediction, milliseconds))
            seen += [f"session {number}, {where}: {text}" for text in await problems(page)]
            await asyncio.sleep(reading_seconds)
            await clear_canvas(page)
            if browse and index % 2 == 1:
                title = browse[(number + index) % len(browse)]
                where = f"visiting {title}"
                await navigate(page, title)
                seen += [f"session {number}, {where}: {text}" for text in await problems(page)]
                await navigate(page, "Draw")
    except Exception as err:  # a timeout or a closed page: reported with the others, not raised
        seen.append(f"session {number}, {where}: {type(err).__name__}: {err}".splitlines()[0])
        await snapshot(page, f"load-session-{number}")
    return done, seen


async def training_session(
    browser, url: str, preset: str, epochs: int, save_name: str = "", timeout_ms: int = 180_000
) -> tuple[float, list[str]]:
    """A person on the Train page: train `preset` for `epochs` to the end, then save it as `save_name`.

    Returns the seconds from Start to the finished run (nan when it did not finish) and problems.
    """
    seen: list[str] = []
    seconds = float("nan")
    where, page = "opening the Train page", None
    try:
        page = await new_session(browser, url, "train")
        where = "starting"
        started = time.monotonic()
        await start_training(page, preset, epochs)
        where = "training"
        finished = page.locator(SUCCESS).filter(has_text="Trained to epoch")
        await finished.wait_for(timeout=timeout_ms)
        seconds = time.monotonic() - started
        await wait_for_idle(page)
        seen += [f"trainer, {where}: {text}" for text in await problems(page)]
        if save_name:
            where = "saving"
            await save_as(page, save_name)
            await page.locator(SUCCESS).filter(has_text=f"Saved as '{save_name}'").wait_for(timeout=60_000)
            seen += [f"trainer, {where}: {text}" for text in await problems(page)]
    except Exception as err:
        seen.append(f"trainer, {where}: {type(err).__name__}: {err}".splitlines()[0])
        await snapshot(page, "load-trainer")
    return seconds, seen


async def snapshot(page, name: str) -> None:
    """A screenshot for a failure's report (ignored by git); nothing when the page is gone."""
    if page is None:
        return
    SCREENSHOTS.mkdir(exist_ok=True)
    with contextlib.suppress(Exception):
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.tmp.png"), full_page=True, timeout=10_000)


def run(coroutine, seconds: float):
    """Run a coroutine to its end, or fail after `seconds`.

    In a thread of its own: the sync Playwright of the other browser tests keeps an event loop
    running in the main thread for the whole session, and asyncio.run refuses to start beside it.
    """
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="browser-tools") as executor:
        return executor.submit(asyncio.run, asyncio.wait_for(coroutine, seconds)).result()


if __name__ == "__main__":  # streamlit, with some saves stopped half-way (see serve)
    _pause_saves(os.environ[PAUSE_SAVES_ENV], Path(os.environ[PAUSE_MARKER_ENV]))
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    sys.exit(cli.main())
