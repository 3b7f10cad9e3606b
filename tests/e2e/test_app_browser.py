"""The app in a real browser: every page opens cleanly, digits drawn with the mouse are read, explained and
saved as my drawings."""

from __future__ import annotations

import math
import time

import pytest

from tests.e2e.conftest import assert_no_exception, open_page, screenshot, wait_for_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PAGES = ["", "train", "draw", "misclassifications", "weights", "compare", "drawings", "data", "models"]

# Strokes on the 280x280 canvas, as (x, y) points a hand would pass through.
STROKES = {
    "1": [[(150, 45), (146, 100), (142, 160), (140, 235)]],
    "0": [[(140 + 55 * math.sin(a / 24 * 2 * math.pi), 140 - 85 * math.cos(a / 24 * 2 * math.pi))
           for a in range(26)]],
    "7": [[(75, 60), (205, 60), (170, 120), (135, 180), (115, 235)]],
}  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_every_page_opens_without_exception(page, app_url, path):
    open_page(page, app_url, path)
    assert_no_exception(page)
    assert page.locator("[data-testid='stSidebarNav'], [data-testid='stSidebar']").count() > 0
    screenshot(page, path or "home")


def canvas_box(page, attempts: int = 3):
    """The drawing canvas's box on the page, scrolled into view. A canvas given a new key (Clear) is
    mounted again once the script run has ended, so the one found may be replaced while it is scrolled
    to: then the new one is looked up."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(attempts):
        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for(timeout=60_000)
        try:
            canvas.scroll_into_view_if_needed()
            return canvas.bounding_box()
        except PlaywrightError as err:
            if "not attached" not in str(err) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def draw(page, strokes) -> float:
    """Draw strokes with the mouse; returns the time the last stroke ended."""
    box = canvas_box(page)
    scale_x, scale_y = box["width"] / 280, box["height"] / 280
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * scale_x, box["y"] + y * scale_y)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * scale_x, box["y"] + y * scale_y, steps=8)
        page.mouse.up()
    return time.perf_counter()


def prediction(page) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Prediction")
    metric.wait_for(timeout=30_000)
    return metric.locator("[data-testid='stMetricValue']").inner_text().strip()


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_a_digit_drawn_with_the_mouse_is_read(page, app_url, digit):
    open_page(page, app_url, "draw")
    assert page.locator("[data-testid='stMetric']").filter(has_text="Prediction").count() == 0
    draw(page, STROKES[digit])
    page.locator("[data-testid='stMetric']").filter(has_text="Prediction").wait_for(timeout=30_000)
    wait_for_idle(page)
    assert_no_exception(page)
    assert prediction(page) == digit
    screenshot(page, f"draw-{digit}")


def test_a_drawing_is_explained_saved_and_listed_in_my_drawings(page, app_url, drawings_folder):
    open_page(page, app_url, "draw")
    draw(page, STROKES["7"])
    assert prediction(page) == "7"
    page.get_by_text("Why this prediction?", exact=True).click()
    page.get_by_role("heading", name="Why 7?").wait_for(timeout=30_000)
    wait_for_idle(page)
    assert page.get_by_text("Pixels for and against 7").count() == 1
    page.locator("[data-testid='stButton'] button").filter(has_text="Save this drawing").click()
    page.locator("[data-testid='stToast']").filter(has_text="Saved as 7").wait_for(timeout=30_000)
    saved = list((drawings_folder / "mnist").glob("7-*.png"))
    assert len(saved) == 1
    assert_no_exception(page)
    page.get_by_role("heading", name="Why 7?").scroll_into_view_if_needed()
    screenshot(page, "draw-why")

    open_page(page, app_url, "drawings")
    assert_no_exception(page)
    assert page.get_by_text("drawings: 7 1").count() == 1  # one drawing, labelled 7
    assert page.locator("[data-testid='stImage'], [data-testid='stImageContainer']").count() >= 1


def test_the_run_counter_sees_each_run_a_click_starts(page, app_url):
    """wait_for_idle waits for the run an action started; here the counter it relies on is checked."""
    from tests.e2e.conftest import RUN_STARTED

    def runs() -> dict[str, int]:
        return page.evaluate("() => ({...window.__scriptRuns})")

    open_page(page, app_url, "draw")
    opened = runs()
    assert opened["started"] >= 1 and opened["finished"] == opened["started"] == opened["waited"]
    assert not page.evaluate(RUN_STARTED)  # nothing new since the wait
    draw(page, STROKES["1"])
    # A drawing always starts a run, but on a loaded machine the canvas may send it after
    # wait_for_idle's grace for actions that start none: wait for it here.
    page.wait_for_function(RUN_STARTED, timeout=30_000)
    wait_for_idle(page)
    drawn = runs()
    assert drawn["started"] > opened["started"] and drawn["finished"] == drawn["started"] == drawn["waited"]
    assert prediction(page) == "1"
