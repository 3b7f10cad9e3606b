"""The app as people feel it, in a real browser: start-up, draw-to-prediction, memory per session.

    python -m benchmarks.app_latency [--drawings 20] [--sessions 10] [--per-session 3] [--extra 5]
                                     [--reading 3] [--paced 6] [--starts 3] [--first-runs 3]
                                     [--only-first-run] [--url URL [--pids PID ...]]

With --url, a server already running (a lecture hall's balancer: deploy/run-local.sh N PORT) is measured
instead, drawings only: one session, then --sessions at once back to back and at a person's pace, with
drawings per second and how many sessions the balancer gave each replica; --pids (the replicas, from
run-local.sh's `replicas` file) adds their CPU time.

Starts `streamlit run app.py` on a copy of the shipped models (a small stand-in is trained when there
are none) and drives Debian's Chromium with the browser tests' helpers (tests/e2e/browser_tools.py).
A drawing is timed on the page's own clock, from the mouse button going up to the Prediction metric
appearing. The browsers run on the server's machine, so with many sessions they compete with it for
the CPU; the CPU time of the server and of the browsers is reported beside the latencies.

The first training after start-up: a server is started, left alone for 15 s as a class's server is
before anyone trains, then the Train page is opened and "Start training" pressed; timed from the
click to the first progress shown. With the preload (ui.resources.preload, at server start) and
without it ($MNIST_MLP_NO_PRELOAD=1), alternately in the same run, and Home's start-up both ways
too, since the preload competes with the first page for the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import re
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from tests.e2e import browser_tools as tools
from ui import resources

GOALS = {"single": "< 300 ms", "concurrent": "p99 < 1 s", "first_run": "< 2 s"}
IDLE_BEFORE_TRAINING = 15.0  # seconds from `streamlit run` to opening the Train page
FIRST_RUN_PATH = "train?epochs=50"  # the default model, long enough to be seen running
PROGRESS = re.compile(r"Epoch \d+/\d+, batch")  # the live progress bar's text
TRAINING = ("784-20-10", 5)  # the load test's training, for the mixed row
BALANCER_COOKIE = "mnist_replica"  # deploy/haproxy.cfg's cookie: which replica serves a session


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def cold_start(browser, store: Path, work: Path, path: str, ready: str) -> float:
    """Seconds from `streamlit run` to `path` usable in a new session."""
    with tools.serve(store, work / f"start-{path or 'home'}.log", wait=False) as server:
        context = await tools.counted_context(browser)
        page = await context.new_page()
        await tools.open_when_ready(page, server.url, path, ready)
        seconds = time.monotonic() - server.started
        await context.close()
    return seconds


@contextlib.contextmanager
def preloading(on: bool):
    """Servers started inside preload at start (`on`) or not: the switch is in their environment."""
    before = os.environ.pop(resources.NO_PRELOAD_ENV, None)
    if not on:
        os.environ[resources.NO_PRELOAD_ENV] = "1"
    try:
        yield
    finally:
        os.environ.pop(resources.NO_PRELOAD_ENV, None)
        if before is not None:
            os.environ[resources.NO_PRELOAD_ENV] = before


async def first_training(browser, store: Path, work: Path, preload: bool) -> float:
    """Seconds from pressing Start training, 15 s after `streamlit run`, to the first progress shown."""
    with preloading(preload), tools.serve(store, work / f"first-run-{preload}.log") as server:
        await asyncio.sleep(max(0.0, IDLE_BEFORE_TRAINING - (time.monotonic() - server.started)))
        context = await tools.counted_context(browser)
        page = await context.new_page()
        await tools.open_page(page, server.url, FIRST_RUN_PATH)
        start = page.locator("[data-testid='stButton'] button").filter(has_text="Start training")
        await start.wait_for(timeout=60_000)
        clicked = time.monotonic()
        await start.click(timeout=60_000)
        await page.get_by_text(PROGRESS).first.wait_for(timeout=120_000)
        seconds = time.monotonic() - clicked
        await context.close()
    return seconds


async def first_runs(args, browser, store: Path, work: Path) -> dict:
    """Home's start-up and the first training's wait, with and without the preload, alternately."""
    figures: dict = {"home_preload": [], "home_no_preload": [], "first_preload": [], "first_no_preload": []}
    for _ in range(args.first_runs):
        for preload, name in ((False, "no_preload"), (True, "preload")):
            with preloading(preload):
                figures[f"home_{name}"].append(await cold_start(browser, store, work, "", tools.PAGE_LINKS))
            figures[f"first_{name}"].append(await first_training(browser, store, work, preload))
    return figures


def first_run_rows(figures: dict) -> list[tuple]:
    """The table rows of `first_runs`."""
    rows = []
    for name, label in (("no_preload", "without preload"), ("preload", "with preload")):
        home, first = figures[f"home_{name}"], figures[f"first_{name}"]
        rows += [
            (f"`streamlit run` → Home usable, {label} (s)", statistics.median(home), max(home),
             _each(home), ""),
            (f"Start training → first progress, {IDLE_BEFORE_TRAINING:g} s after start, {label} (s)",
             statistics.median(first), max(first), _each(first), GOALS["first_run"]),
        ]  # fmt: skip
    ratio = statistics.median(figures["first_no_preload"]) / statistics.median(figures["first_preload"])
    home = statistics.median(figures["home_preload"]) / statistics.median(figures["home_no_preload"])
    rows.append(("first progress: without / with preload (x)", ratio, None, "medians", ""))
    rows.append(("Home usable: with / without preload (x)", home, None, "medians", ""))
    return rows


def _each(values: list[float]) -> str:
    return f"{len(values)} starts: " + ", ".join(f"{value:.1f}" for value in values)


async def timed_drawings(page, count: int) -> list[float]:
    """`count` drawings in one session, cleared between; milliseconds each."""
    digits = sorted(tools.STROKES)
    result = []
    for index in range(count):
        milliseconds, _ = await tools.timed_drawing(page, digits[index % len(digits)])
        result.append(milliseconds)
        await tools.clear_canvas(page)
    return result


async def concurrent(
    browser, server, pages, per_session: int, training: bool, reading_seconds: float = 0.0
) -> dict:
    """Every page draws `per_session` times at once (one trains instead when `training`).

    With `reading_seconds`, each person looks at every prediction that long before clearing, and
    the sessions start a moment apart, as a class does; without, they draw back to back.
    """
    cpu = tools.browser_cpu_seconds(), server.cpu_seconds()
    started = time.monotonic()
    drawers = pages[1:] if training else pages
    jobs = [
        _after(n * reading_seconds / len(drawers), tools.drawing_session(
            browser, server.url, n, per_session, page=p, reading_seconds=reading_seconds
        ))
        for n, p in enumerate(drawers)
    ]  # fmt: skip
    if training:
        jobs.append(tools.training_session(browser, server.url, *TRAINING))
    results = await asyncio.gather(*jobs)
    sessions = [result for result in results if isinstance(result[0], list)]
    problems = [problem for _, seen in results for problem in seen]
    if problems:
        raise RuntimeError(f"{len(problems)} problems, the first: {problems[0]}")
    return {
        "ms": [drawing.milliseconds for done, _ in sessions for drawing in done],
        "seconds": time.monotonic() - started,
        "browser_cpu": tools.browser_cpu_seconds() - cpu[0],
        "server_cpu": server.cpu_seconds() - cpu[1],
    }


async def _after(seconds: float, job):
    await asyncio.sleep(seconds)
    return await job


class Running:
    """A server someone else started (`--url`), e.g. deploy/run-local.sh's balancer, with the processes
    whose CPU time counts as the server's (`--pids`; none: no server CPU figures)."""

    def __init__(self, url: str, pids: list[int]) -> None:
        self.url, self.pids = url.rstrip("/"), pids

    def cpu_seconds(self) -> float:
        return sum(tools.cpu_seconds(pid) for pid in self.pids)


async def replica_of(page) -> str:
    """The replica deploy/haproxy.cfg's cookie sends this page's session to; "-" without a balancer."""
    cookies = await page.context.cookies()
    return next((cookie["value"] for cookie in cookies if cookie["name"] == BALANCER_COOKIE), "-")


async def measure_url(args) -> dict:
    """Drawings through a running server or balancer: one session alone, then `--sessions` at once
    drawing back to back, then the same at a person's pace. No start-up, memory or training rows."""
    server = Running(args.url, args.pids)
    figures: dict = {}
    async with tools.chromium() as browser:
        pages = await asyncio.gather(
            *[tools.new_session(browser, server.url, "draw") for _ in range(args.sessions)]
        )
        figures["replicas"] = collections.Counter([await replica_of(page) for page in pages])
        await asyncio.gather(
            *[tools.timed_drawing(page, "1") for page in pages]
        )  # each replica's model loaded
        await asyncio.gather(*[tools.clear_canvas(page) for page in pages])
        cpu = server.cpu_seconds()
        figures["single"] = await timed_drawings(pages[0], args.drawings)
        figures["single_server_cpu"] = server.cpu_seconds() - cpu
        figures["concurrent"] = await concurrent(browser, server, pages, args.per_session, training=False)
        figures["paced"] = await concurrent(
            browser, server, pages, args.paced, training=False, reading_seconds=args.reading
        )
    return figures


def url_table(args, figures: dict) -> str:
    single, both, paced = (figures[key] for key in ("single", "concurrent", "paced"))
    spread = ", ".join(f"{name}: {count}" for name, count in sorted(figures["replicas"].items()))
    cpu = bool(args.pids)
    rows = [
        ("stroke → prediction, 1 session (ms)", statistics.median(single), percentile(single, 99),
         f"{len(single)} drawings", GOALS["single"]),
        (f"stroke → prediction, {args.sessions} sessions at once (ms)", statistics.median(both["ms"]),
         percentile(both["ms"], 99), f"{len(both['ms'])} drawings", GOALS["concurrent"]),
        (f"… drawings per second, {args.sessions} sessions back to back", len(both["ms"]) / both["seconds"],
         None, f"{both['seconds']:.0f} s", ""),
        (f"… each person reading every prediction for {args.reading:g} s before Clear (ms)",
         statistics.median(paced["ms"]), percentile(paced["ms"], 99), f"{len(paced['ms'])} drawings",
         GOALS["concurrent"]),
        ("… drawings per second at that pace", len(paced["ms"]) / paced["seconds"], None,
         f"{paced['seconds']:.0f} s", ""),
        (f"sessions per replica (cookie {BALANCER_COOKIE})", float(args.sessions), None, spread, ""),
    ]  # fmt: skip
    if cpu:
        rows += [
            ("server CPU per drawing and clear, 1 session (ms)",
             1000 * figures["single_server_cpu"] / len(single), None, f"{len(args.pids)} processes", ""),
            (f"server / browser CPU per drawing, {args.sessions} sessions (ms)",
             1000 * both["server_cpu"] / len(both["ms"]), 1000 * both["browser_cpu"] / len(both["ms"]),
             "", ""),
        ]  # fmt: skip
    return _markdown(rows)


async def measure(args, store: Path, work: Path) -> dict:
    figures: dict = {"home": [], "draw": []}
    async with tools.chromium() as browser:
        figures |= await first_runs(args, browser, store, work)
        if args.only_first_run:
            return figures
        for _ in range(args.starts):
            figures["home"].append(await cold_start(browser, store, work, "", tools.PAGE_LINKS))
            figures["draw"].append(await cold_start(browser, store, work, "draw", tools.CANVAS))
        with tools.serve(store, work / "server.log") as server:
            first = await tools.counted_context(browser)
            page = await first.new_page()
            await tools.open_page(page, server.url)
            await page.wait_for_timeout(1000)
            figures["rss_home"] = server.resident_kib()
            await tools.navigate(page, "Draw")
            figures["first_drawing"] = (await tools.timed_drawing(page, "7"))[0]
            await tools.clear_canvas(page)
            await page.wait_for_timeout(1000)
            figures["rss_draw"] = server.resident_kib()
            extra = await asyncio.gather(
                *[tools.new_session(browser, server.url, "draw") for _ in range(args.extra)]
            )
            await asyncio.gather(*[tools.timed_drawing(other, "1") for other in extra])
            await asyncio.gather(*[tools.clear_canvas(other) for other in extra])
            await page.wait_for_timeout(1000)
            figures["rss_extra"] = server.resident_kib()

            cpu = server.cpu_seconds()
            figures["single"] = await timed_drawings(page, args.drawings)
            figures["single_server_cpu"] = server.cpu_seconds() - cpu

            more = max(0, args.sessions - 1 - len(extra))
            others = await asyncio.gather(
                *[tools.new_session(browser, server.url, "draw") for _ in range(more)]
            )
            pages = [page, *extra, *others][: args.sessions]
            figures["concurrent"] = await concurrent(browser, server, pages, args.per_session, training=False)
            figures["training"] = await concurrent(browser, server, pages, args.per_session, training=True)
            figures["paced"] = await concurrent(
                browser, server, pages, args.paced, training=True, reading_seconds=args.reading
            )
    return figures


def table(args, figures: dict) -> str:
    if args.only_first_run:
        return _markdown(first_run_rows(figures))
    mib = 1024
    single, both, mixed, paced = (figures[key] for key in ("single", "concurrent", "training", "paced"))
    rows = [
        ("`streamlit run` → Home usable (s)", statistics.median(figures["home"]), max(figures["home"]),
         f"{args.starts} starts", ""),
        ("`streamlit run` → Draw usable, model loaded (s)", statistics.median(figures["draw"]),
         max(figures["draw"]), f"{args.starts} starts", ""),
        ("first drawing after the model loaded (ms)", figures["first_drawing"], None, "1", ""),
        ("stroke → prediction, 1 session (ms)", statistics.median(single), percentile(single, 99),
         f"{len(single)} drawings", GOALS["single"]),
        (f"stroke → prediction, {args.sessions} sessions at once (ms)", statistics.median(both["ms"]),
         percentile(both["ms"], 99), f"{len(both['ms'])} drawings", GOALS["concurrent"]),
        (f"… {args.sessions - 1} drawing while 1 trains {TRAINING[0]} (ms)", statistics.median(mixed["ms"]),
         percentile(mixed["ms"], 99), f"{len(mixed['ms'])} drawings", GOALS["concurrent"]),
        (f"… the same, each person reading every prediction for {args.reading:g} s before Clear (ms)",
         statistics.median(paced["ms"]), percentile(paced["ms"], 99), f"{len(paced['ms'])} drawings",
         GOALS["concurrent"]),
        ("server CPU per drawing and clear, 1 session (ms)",
         1000 * figures["single_server_cpu"] / len(single), None, "", ""),
        (f"server / browser CPU per drawing, {args.sessions} sessions (ms)",
         1000 * both["server_cpu"] / len(both["ms"]), 1000 * both["browser_cpu"] / len(both["ms"]), "", ""),
        ("server RSS after Home, first session (MiB)", figures["rss_home"] / mib, None, "", ""),
        ("server RSS after one drawing, default model loaded (MiB)", figures["rss_draw"] / mib, None, "", ""),
        ("server RSS added per extra session on Draw (MiB)",
         (figures["rss_extra"] - figures["rss_draw"]) / mib / args.extra, None, f"{args.extra} sessions", ""),
    ]  # fmt: skip
    return _markdown(rows + first_run_rows(figures))


def _markdown(rows: list[tuple]) -> str:
    lines = [
        "| measure | median / value | p99 / max / browser | over | goal |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for name, value, second, over, goal in rows:
        text = "" if second is None else f"{second:,.1f}"
        lines.append(f"| {name} | {value:,.1f} | {text} | {over} | {goal} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=20, help="drawings in the single session")
    parser.add_argument("--sessions", type=int, default=10, help="sessions drawing at once")
    parser.add_argument("--per-session", type=int, default=3, help="drawings per concurrent session")
    parser.add_argument("--extra", type=int, default=5, help="extra sessions for the memory figure")
    parser.add_argument("--reading", type=float, default=3.0, help="seconds a paced person reads a result")
    parser.add_argument("--paced", type=int, default=6, help="drawings per session at a person's pace")
    parser.add_argument("--starts", type=int, default=3, help="cold starts timed per page")
    parser.add_argument("--first-runs", type=int, default=3, help="first trainings timed each way")
    parser.add_argument("--only-first-run", action="store_true", help="time only the first training")
    parser.add_argument("--url", help="drawings only, through this running server or balancer")
    parser.add_argument("--pids", type=int, nargs="*", default=[], help="with --url: the server processes")
    args = parser.parse_args()
    if not tools.CHROMIUM.exists():
        parser.exit(2, "app_latency: Debian's chromium (/usr/bin/chromium) is needed\n")
    if args.url:
        measure_running(parser, args)
        return
    work = Path(tempfile.mkdtemp(prefix="app-latency-"))
    try:
        store = work / "models"
        tools.ensure_model(store)
        load_before = os.getloadavg()[0]
        figures = tools.run(measure(args, store, work), 1800)
        print(
            f"{os.cpu_count()} CPUs, browsers on the same machine; model "
            f"{'shipped' if (tools.ROOT / 'saved_models' / 'digits-mlp').is_dir() else 'stand-in'} "
            f"digits-mlp; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n"
        )
        print(table(args, figures))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_running(parser: argparse.ArgumentParser, args) -> None:
    """`--url`: the drawing rows through a server this benchmark did not start."""
    try:
        with urllib.request.urlopen(args.url.rstrip("/") + "/_stcore/health", timeout=10) as response:
            response.read()
    except OSError as err:
        parser.exit(2, f"app_latency: nothing answers at {args.url} ({err}); start it first\n")
    missing = [pid for pid in args.pids if not Path(f"/proc/{pid}").exists()]
    if missing:
        parser.exit(2, f"app_latency: no process {missing[0]} (--pids): give the server's process ids\n")
    load_before = os.getloadavg()[0]
    figures = tools.run(measure_url(args), 1800)
    print(
        f"{os.cpu_count()} CPUs, browsers on the same machine; {args.url}; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n"
    )
    print(url_table(args, figures))


if __name__ == "__main__":
    main()
