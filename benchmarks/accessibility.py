"""Accessibility faults per page, as axe-core counts them in Chromium: every page of app.py, the Draw
page after a drawing and the Train page while it trains.

    python -m benchmarks.accessibility [--details]

Starts `streamlit run app.py` on a copy of the shipped models and prints, for each page and state,
the number of failing elements by impact (axe's minor, moderate, serious, critical) and the rules
they break. The page list, the audit and the steps to each state are tests/e2e/axe.py's, which
tests/e2e/test_accessibility.py shares; it fails on any serious or critical fault.
"""

from __future__ import annotations

import collections
import sys
import tempfile
from pathlib import Path

from tests.e2e import axe, conftest
from tests.e2e import browser_tools as tools


def audit_app(browser, url: str) -> list[axe.Fault]:
    """Every page of app.py, the Draw page after a drawing, and the Train page while it trains."""
    faults = []
    for title, path in axe.app_pages():
        context = conftest.watch_runs(browser.new_context(viewport=tools.VIEWPORT))
        page = context.new_page()
        axe.open_rendered(page, url, path)
        faults += axe.lasting(page, title)
        if path == "draw":
            axe.draw_a_digit(page)
            faults += axe.lasting(page, f"{title}, after a drawing")
        if path == "train":
            axe.start_training(page)
            faults += axe.lasting(page, f"{title}, while training")
            axe.stop_training(page)
        context.close()
    return faults


def table(faults: list[axe.Fault], places: list[str]) -> str:
    """A Markdown table: failing elements per place and impact, and the rules broken there."""
    counts = collections.Counter((fault.page, fault.impact) for fault in faults for _ in fault.targets)
    lines = ["| page | " + " | ".join(axe.IMPACTS) + " | rules |", "|---" * (len(axe.IMPACTS) + 2) + "|"]
    for place in places:
        rules = ", ".join(f"{f.rule} ({len(f.targets)})" for f in faults if f.page == place) or "none"
        row = " | ".join(str(counts[place, impact]) for impact in axe.IMPACTS)
        lines.append(f"| {place} | {row} | {rules} |")
    total = " | ".join(str(sum(counts[p, impact] for p in places)) for impact in axe.IMPACTS)
    lines.append(f"| all | {total} | |")
    return "\n".join(lines)


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="accessibility-") as work:
        store = Path(work) / "models"
        tools.ensure_model(store)
        with tools.serve(store, Path(work) / "streamlit.log") as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(conftest.CHROMIUM), args=conftest.CHROMIUM_ARGS
            )
            faults = audit_app(browser, server.url)
            browser.close()
    places = []
    for title, path in axe.app_pages():
        places.append(title)
        places += {"draw": [f"{title}, after a drawing"], "train": [f"{title}, while training"]}.get(path, [])
    print(table(faults, places))
    print(f"\nserious or critical: {sum(len(f.targets) for f in axe.severe(faults))} elements")
    if "--details" in sys.argv:
        print("", *faults, sep="\n")


if __name__ == "__main__":
    main()
