"""axe-core audits of the app's pages in Chromium, shared by the browser tests and
benchmarks/accessibility.py: the page list read from app.py, an audit of a settled page, and the
steps that bring the Draw and Train pages to the states audited (after a drawing, while training)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.e2e import browser_tools as tools
from tests.e2e import conftest

IMPACTS = ("minor", "moderate", "serious", "critical")  # axe-core's, mildest first
SEVERE = ("serious", "critical")  # what the browser test fails on
TRAINING_PRESET, TRAINING_EPOCHS = "784-512-10", 500  # the most the form takes; stopped after the audit
DRAWN_DIGIT = "7"  # one of test_app_browser.STROKES: two strokes, quick to draw
SETTLE_MS = 60_000  # the most a page is given to settle before an audit
# True when the page has settled: no spinner or skeleton, the toolbar's status widget says nothing is
# running, and every Vega-Lite chart has been drawn: vega-embed has given its container the
# graphics-document role, and its svg holds Vega's mark groups (or it drew to a canvas).
SETTLED = """() => {
  if (document.querySelector("[data-testid='stSpinner'], [data-testid='stSkeleton']")) return false;
  const status = document.querySelector("[data-testid='stStatusWidget']");
  if (status && /running/i.test(status.innerText)) return false;
  return [...document.querySelectorAll("[data-testid='stVegaLiteChart']")].every((chart) =>
    chart.getAttribute("role") === "graphics-document"
    && chart.querySelector("canvas.marks, svg.marks g.mark-group[role='graphics-object']") !== null);
}"""


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


def wait_until_settled(page, timeout_ms: int = SETTLE_MS) -> None:
    """Wait until nothing on the page is still being drawn or run (see SETTLED)."""
    page.wait_for_function(SETTLED, timeout=timeout_ms)


def lasting(page, where: str) -> list[Fault]:
    """`audit` of the settled page; any faults confirmed by a second audit once it has settled again:
    the second's faults of the rules broken both times. A live view (the Train page redraws its
    charts every second) can redraw a chart while axe reads it, and a chart caught half-built lacks
    the names it has once drawn; a real fault is there both times."""
    wait_until_settled(page)
    first = {fault.rule for fault in audit(page, where)}
    if not first:
        return []
    wait_until_settled(page)
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
    """On the Train page while it trains: press Stop and wait until the run says it stopped."""
    page.locator("[data-testid='stButton'] button").filter(has_text="Stop").click()
    page.locator("[data-testid='stAlertContentWarning']").filter(has_text="Stopped").wait_for(timeout=90_000)
