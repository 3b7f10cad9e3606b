"""Training in the app against the library's own loop: the same model on the same data, side by side.

    python -m benchmarks.app_training_speed [--rounds 3] [--epochs 8] [--dataset fashion_mnist]
                                            [--preset 784-512-10]

Each round trains once with `train.train` called directly in this process and once in the app:
`streamlit run app.py`, the Train page opened in Debian's Chromium (a new session each round) and
left open, polling its live progress, until the run ends. Both are timed by the loop's own clock
(`TrainResult.seconds`, which the page shows as "Trained to epoch N in X s of training"), so the
images per second are over the same work: every step, the first call's tracing and each epoch's
validation. The goal: the app at least 90% as fast as the library.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.e2e import browser_tools as tools

GOAL = 0.9  # the app's speed over the library's
TRAINED = re.compile(r"Trained to epoch ([\d.]+) in ([\d,.]+) s of training")


def library_speed(config, split) -> float:
    """Images per second of `train.train` here, with a progress callback and stop switch as the app has."""
    import threading

    from mnist_mlp import train

    result = train.train(config, *split, on_progress=lambda progress: None, stop=threading.Event())
    return result.images_seen / result.seconds


async def app_speed(browser, server, args, images: int, cpu: dict[str, list[float]]) -> float:
    """Images per second of one run on the Train page, which stays open and polling till the end.

    Adds to `cpu` the cores the browser and the server used meanwhile (the server's: training too).
    """
    context = await tools.counted_context(browser)
    page = await context.new_page()
    path = f"train?dataset={args.dataset}&preset={args.preset}&epochs={args.epochs}"
    await tools.open_page(page, server.url, path)
    before = time.monotonic(), tools.browser_cpu_seconds(), server.cpu_seconds()
    await page.locator("[data-testid='stButton'] button").filter(has_text="Start training").click()
    done = page.locator(tools.SUCCESS).filter(has_text="Trained to epoch")
    await done.wait_for(timeout=600_000)
    seconds = time.monotonic() - before[0]
    cpu["browser"].append((tools.browser_cpu_seconds() - before[1]) / seconds)
    cpu["server"].append((server.cpu_seconds() - before[2]) / seconds)
    text = await done.inner_text()
    await context.close()
    match = TRAINED.search(text)
    if match is None or float(match[1]) != args.epochs:
        raise RuntimeError(f"the page said {text!r}, not a finished run of {args.epochs} epochs")
    return args.epochs * images / float(match[2].replace(",", ""))


async def measure(args, store: Path, work: Path, config, split) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"library": [], "app": [], "browser": [], "server": []}
    async with tools.chromium() as browser:
        with tools.serve(store, work / "server.log") as server:
            for _ in range(args.rounds):
                figures["library"].append(library_speed(config, split))
                figures["app"].append(await app_speed(browser, server, args, len(split.x_train), figures))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs each way, alternating")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--preset", default="784-512-10")
    args = parser.parse_args()
    if not tools.CHROMIUM.exists():
        parser.exit(2, "app_training_speed: Debian's chromium (/usr/bin/chromium) is needed\n")
    from mnist_mlp import data, model, run

    dataset = data.load(args.dataset, allow_download=False)
    split = run.split(dataset, model.MLPConfig().seed, run.VALIDATION_FRACTION)  # as the app splits it
    config = model.PRESETS[args.preset].replace(epochs=args.epochs)
    work = Path(tempfile.mkdtemp(prefix="app-training-speed-"))
    try:
        store = work / "models"
        tools.ensure_model(store)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        figures = tools.run(measure(args, store, work, config, split), 3600)
        library, app = (statistics.median(figures[side]) for side in ("library", "app"))
        print(
            f"{os.cpu_count()} CPUs, Chromium on the same machine; {args.preset}, batch {config.batch_size}, "
            f"{args.epochs} epochs of {len(split.x_train):,} {dataset.source} images; load average "
            f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after; {time.monotonic() - started:.0f} s\n"
        )
        print("| side | median images/s | each round |\n| --- | ---: | --- |")
        for side, value in (("library (`train.train`)", library), ("app, Train page open", app)):
            rounds = ", ".join(f"{speed:,.0f}" for speed in figures[side.split()[0].rstrip(",")])
            print(f"| {side} | {value:,.0f} | {rounds} |")
        ratios = [a / b for a, b in zip(figures["app"], figures["library"], strict=True)]
        print(
            f"\napp / library: {statistics.median(ratios):.2f} (median of each round's ratio: "
            f"{', '.join(f'{ratio:.2f}' for ratio in ratios)}; of the medians {app / library:.2f}; "
            f"goal at least {GOAL:.2f})"
        )
        browser_cores, server_cores = (statistics.median(figures[side]) for side in ("browser", "server"))
        print(f"while the app trained: browser {browser_cores:.2f} cores, server {server_cores:.2f} (median)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
