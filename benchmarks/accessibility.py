"""Accessibility faults per page, as axe-core counts them in Chromium: every page of app.py, the Draw
page after a drawing and the Train page while it trains.

    python -m benchmarks.accessibility [--details]

Starts `streamlit run app.py` on a copy of the shipped models and prints, for each page and state,
the number of failing elements by impact (axe's minor, moderate, serious, critical) and the rules
they break. tests/e2e/test_accessibility.py shares the page list and the audit, and fails on any
serious or critical fault.
"""

from __future__ import annotations

import ast
import collections
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.e2e import browser_tools as tools
from tests.e2e import conftest

IMPACTS = ("minor", "moderate", "serious", "critical")  # axe-core's, mildest first
SEVERE = ("serious", "critical")  # what the browser test fails on
TRAINING_PRESET, TRAINING_EPOCHS = "784-512-10", 500  # the most the form takes; stopped after the audit
DRAWN_DIGIT = "7"  # one of test_app_browser.STROKES: two strokes, quick to draw


@dataclass(frozen=True)
class Fault:
    """One axe-core rule broken on a page: where, which rule, how badly, and by which elements."""

    page: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]  # CSS selectors of the failing elements, as axe names them

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:5]) + (
            f" and {len(self.targets) - 5} more" if len(self.targets) > 5 else ""
        )
        return f"{self.page}: {self.rule} ({self.impact}, {len(self.targets)}): {self.help}; {shown}"


def app_pages(app: Path = conftest.ROOT / "app.py") -> list[tuple[str, str]]:
    """Every page app.py gives st.navigation, as (title, url path), read from its st.Page calls.

    Read from the source rather than listed here, so that a page added to app.py is audited too. A
    page without url_path is at its file's name; the default page at "".
    """
    pages = []
    for node in ast.walk(ast.parse(app.read_text())):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page" and node.args):
            continue
        keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords if keyword.arg}
        source = ast.literal_eval(node.args[0])
        path = "" if keywords.get("default") else keywords.get("url_path", Path(source).stem)
        pages.append((keywords.get("title", Path(source).stem), path))
    return pages


def audit(page, where: str) -> list[Fault]:
    """Run axe-core (as axe-playwright-python bundles it) on the page as it is now: its violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        Fault(
            where,
            rule["id"],
            rule["impact"] or "minor",
            rule["help"],
            tuple(" ".join(map(str, node["target"])) for node in rule["nodes"]),
        )
        for rule in results.response["violations"]
    ]


def lasting(page, where: str, pause_ms: int = 1_000) -> list[Fault]:
    """`audit`, its faults confirmed by a second audit `pause_ms` later: the second's faults of the rules
    broken both times. A chart that Vega is still drawing (the Train page redraws its live view every
    second) can be caught half-built, without the names it has once drawn."""
    first = {fault.rule for fault in audit(page, where)}
    if not first:
        return []
    page.wait_for_timeout(pause_ms)
    return [fault for fault in audit(page, where) if fault.rule in first]


def severe(faults: list[Fault]) -> list[Fault]:
    """The faults axe-core rates serious or critical."""
    return [fault for fault in faults if fault.impact in SEVERE]


def open_rendered(page, url: str, path: str) -> None:
    """Open a page and wait until its script has finished and every element is drawn."""
    conftest.open_page(page, url, path)
    page.locator(tools.TITLE).first.wait_for(timeout=60_000)


def draw_a_digit(page) -> None:
    """On the Draw page: draw DRAWN_DIGIT with the mouse and wait for the prediction and its run."""
    from tests.e2e.test_app_browser import STROKES, draw

    draw(page, STROKES[DRAWN_DIGIT])
    page.locator(tools.PREDICTION).wait_for(timeout=60_000)
    conftest.wait_for_idle(page)


def start_training(page) -> None:
    """On the Train page of a new session: start a long run and wait until its progress shows."""
    page.locator("[data-testid='stSelectbox']").filter(has_text="Architecture").click()
    page.get_by_role("option", name=TRAINING_PRESET, exact=True).click()
    conftest.wait_for_idle(page)
    field = page.locator(f".st-key-train_epochs_{TRAINING_PRESET} input")
    field.fill(str(TRAINING_EPOCHS))
    field.press("Enter")
    conftest.wait_for_idle(page)
    page.locator("[data-testid='stButton'] button").filter(has_text="Start training").click()
    page.locator("[data-testid='stProgress']").wait_for(timeout=90_000)
    page.locator("[data-testid='stProgress']").filter(has_text="Epoch").wait_for(timeout=90_000)


def stop_training(page) -> None:
    page.locator("[data-testid='stButton'] button").filter(has_text="Stop").click()
    page.locator("[data-testid='stAlertContentWarning']").filter(has_text="Stopped").wait_for(timeout=90_000)


def audit_app(browser, url: str) -> list[Fault]:
    """Every page of app.py, the Draw page after a drawing, and the Train page while it trains."""
    faults = []
    for title, path in app_pages():
        context = conftest.watch_runs(browser.new_context(viewport=tools.VIEWPORT))
        page = context.new_page()
        open_rendered(page, url, path)
        faults += lasting(page, title)
        if path == "draw":
            draw_a_digit(page)
            faults += lasting(page, f"{title}, after a drawing")
        if path == "train":
            start_training(page)
            faults += lasting(page, f"{title}, while training")
            stop_training(page)
        context.close()
    return faults


def table(faults: list[Fault], places: list[str]) -> str:
    """A Markdown table: failing elements per place and impact, and the rules broken there."""
    counts = collections.Counter((fault.page, fault.impact) for fault in faults for _ in fault.targets)
    lines = ["| page | " + " | ".join(IMPACTS) + " | rules |", "|---" * (len(IMPACTS) + 2) + "|"]
    for place in places:
        rules = ", ".join(f"{f.rule} ({len(f.targets)})" for f in faults if f.page == place) or "none"
        row = " | ".join(str(counts[place, impact]) for impact in IMPACTS)
        lines.append(f"| {place} | {row} | {rules} |")
    total = " | ".join(str(sum(counts[p, impact] for p in places)) for impact in IMPACTS)
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
    for title, path in app_pages():
        places.append(title)
        places += {"draw": [f"{title}, after a drawing"], "train": [f"{title}, while training"]}.get(path, [])
    print(table(faults, places))
    print(f"\nserious or critical: {sum(len(f.targets) for f in severe(faults))} elements")
    if "--details" in sys.argv:
        print("", *faults, sep="\n")


if __name__ == "__main__":
    main()
