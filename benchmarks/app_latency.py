"""The app as people feel it, in a real browser: start-up, draw-to-prediction, memory per session.

    python -m benchmarks.app_latency [--drawings 20] [--sessions 10] [--per-session 3] [--extra 5]
                                     [--reading 3] [--paced 6]

Starts `streamlit run app.py` on a copy of the shipped models (a small stand-in is trained when there
are none) and drives Debian's Chromium with the browser tests' helpers (tests/e2e/browser_tools.py).
A drawing is timed on the page's own clock, from the mouse button going up to the Prediction metric
appearing. The browsers run on the server's machine, so with many sessions they compete with it for
the CPU; the CPU time of the server and of the browsers is reported beside the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.e2e import browser_tools as tools

GOALS = {"single": "< 300 ms", "concurrent": "p99 < 1 s"}
TRAINING = ("784-20-10", 5)  # the load test's training, for the mixed row


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


async def measure(args, store: Path, work: Path) -> dict:
    figures: dict = {"home": [], "draw": []}
    async with tools.chromium() as browser:
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
    args = parser.parse_args()
    if not tools.CHROMIUM.exists():
        parser.exit(2, "app_latency: Debian's chromium (/usr/bin/chromium) is needed\n")
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


if __name__ == "__main__":
    main()
