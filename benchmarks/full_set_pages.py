"""The app on the full MNIST, as a person waits for it: the first Misclassifications view of the 10,000
test digits, and the Train page's default run on the 54,000 training digits with its images per second.

    python -m benchmarks.full_set_pages

Needs the full MNIST on this machine (`python -m mnist_mlp fetch mnist`). Starts `streamlit run
app.py` on a copy of the shipped models and drives Debian's Chromium with the browser tests' helpers.
While it waits, the page is watched every 0.25 s for what it shows (a spinner or a progress bar, with
its text), so a frozen page would show as a wait with nothing on it.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from pathlib import Path

from mnist_mlp import data
from tests.e2e import browser_tools as tools

WATCH_SECONDS = 0.25
SHOWN = "[data-testid='stSpinner'], [data-testid='stProgress']"  # what a page shows while it works
CHART = "[data-testid='stVegaLiteChart']"


async def watched(page, until, timeout_s: float) -> tuple[float, list[str]]:
    """Seconds until `until` (a locator) shows, and each different text shown meanwhile by a spinner
    or a progress bar."""
    started, seen = time.monotonic(), []
    while time.monotonic() - started < timeout_s:
        if await until.count() and await until.first.is_visible():
            return time.monotonic() - started, seen
        for text in await page.locator(SHOWN).all_inner_texts():
            if text.strip() and (not seen or seen[-1] != text.strip()):
                seen.append(text.strip())
        await asyncio.sleep(WATCH_SECONDS)
    raise TimeoutError(f"nothing came within {timeout_s:.0f} s; shown meanwhile: {seen[-3:]}")


async def measure(url: str) -> None:
    async with tools.chromium() as browser:
        context = await tools.counted_context(browser)
        page = await context.new_page()
        await page.goto(f"{url}/misclassifications")
        seconds, seen = await watched(page, page.locator(CHART), 600)
        print(f"Misclassifications, first view of the 10,000 test digits: {seconds:.1f} s to the matrix")
        print(f"  shown meanwhile: {' | '.join(seen) or 'nothing'}")

        page = await tools.new_session(browser, url, "train")
        buttons = page.locator("[data-testid='stButton'] button")
        await buttons.filter(has_text="Start training").click()
        done = page.locator(tools.SUCCESS).filter(has_text="Trained to epoch")
        seconds, seen = await watched(page, done, 1800)
        found = [match for text in seen for match in re.findall(r"([\d,]+) images/s", text)]
        speeds = [int(match.replace(",", "")) for match in found]
        print(f"Train page, default run: {seconds:.1f} s from Start to '{await done.first.inner_text()}'")
        if speeds:
            print(f"  images/s shown: first {speeds[0]:,}, last {speeds[-1]:,}, highest {max(speeds):,}")
        print(f"  last progress shown: {seen[-1] if seen else 'none'}")


def main() -> None:
    full = data.load("mnist", allow_download=False)
    if full.is_sample:
        raise SystemExit(f"full_set_pages: the full MNIST is not here: run `{data.FETCH_COMMAND}`")
    print(f"data: {full.source}")
    with tempfile.TemporaryDirectory(prefix="full-set-pages-") as folder:
        store = Path(folder) / "models"
        tools.ensure_model(store)
        with tools.serve(store, Path(folder) / "server.log") as server:
            tools.run(measure(server.url), 3600)


if __name__ == "__main__":
    main()
