"""The confusion matrix in Chromium: a click on a cell or a class's bar opens its mistakes below, in
counts or as shares of each true class (chosen with the keyboard)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.conftest import assert_no_exception, open_page, screenshot, wait_for_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MATRIX, BARS = (f"[data-testid='stVegaLiteChart'] >> nth={n}" for n in (0, 1))  # in page order
OUTLINES = "g.layer_1_marks path"  # the outline layer: the cells the mistakes below are filtered to
SHOWN_AT_MOST = 36  # the grid's default "Show at most"


@pytest.fixture(scope="module")
def expected(e2e_store):
    """The served default model's results on the data the app evaluates it on, worked out here."""
    from mnist_mlp import data, evaluate, store

    loaded = store.load(store.DEFAULT_MODEL, e2e_store)
    test = data.load(loaded.card.dataset if loaded.card else "mnist", allow_download=False)
    return evaluate.evaluate(loaded.model, test.x_test, test.y_test)


def click_centre(page, locator) -> None:
    """A real mouse click at the middle of an element of a chart (where a cell's number is drawn)."""
    locator.wait_for(timeout=60_000)
    box = locator.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_for_idle(page)


def query(page) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(page.url).query).items()}


def filter_value(page, label: str) -> str:
    """The value a class filter select box shows."""
    box = page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").filter(has_text=label).first
    return box.locator("input").input_value()


def shown_count(page) -> int:
    caption = page.locator("[data-testid='stCaptionContainer']").filter(has_text="mistakes; captions read")
    return int(re.match(r"([\d,]+) mistakes;", caption.first.inner_text()).group(1).replace(",", ""))


def test_a_click_on_a_cell_and_on_a_bar_opens_their_mistakes(page, app_url, expected):
    from mnist_mlp import evaluate

    confusion = expected.confusion
    cells = [cell for cell in evaluate.error_cells(confusion) if confusion[cell] <= SHOWN_AT_MOST]
    true_class, predicted_class = cells[0]  # the most errors that the grid shows in full
    count = int(confusion[true_class, predicted_class])
    open_page(page, app_url, "misclassifications")
    assert_no_exception(page)
    assert page.locator(MATRIX).locator(OUTLINES).count() == 0, "no cell picked yet"

    cell = page.locator(MATRIX).locator(f"path[aria-label='{true_class} read as {predicted_class}: {count}']")
    click_centre(page, cell)
    assert_no_exception(page)
    assert query(page) == {"true": str(true_class), "predicted": str(predicted_class)}
    assert (filter_value(page, "True class"), filter_value(page, "Predicted class")) == (
        str(true_class),
        str(predicted_class),
    )
    assert shown_count(page) == count == len(expected.mistakes(true_class, predicted_class))
    outlined = page.locator(MATRIX).locator(OUTLINES)
    assert outlined.count() == 1 and outlined.get_attribute("aria-label").startswith(
        f"{true_class} read as {predicted_class}:"
    )
    picked = filter_value(page, "Show the examples of a cell")
    assert picked == f"{true_class} read as {predicted_class}: {count}", "the cell picker follows"
    heading = page.locator("[data-testid='stHeading']").filter(has_text="Confusion matrix").first
    heading.evaluate("(element) => element.scrollIntoView({block: 'start'})")  # the matrix and its mistakes
    screenshot(page, "misclassifications-cell")

    empty = next((t, p) for t in range(10) for p in range(10) if t != p and confusion[t, p] == 0)
    click_centre(
        page, page.locator(MATRIX).locator(f"path[aria-label='{empty[0]} read as {empty[1]}: none']")
    )
    assert query(page) == {"true": str(empty[0]), "predicted": str(empty[1])}, "an empty cell is clickable"
    alerts = page.locator("[data-testid='stAlertContentInfo']")
    assert "No mistakes with these filters." in alerts.all_inner_texts()

    worst = int(expected.errors_per_class.argmax())
    bar = page.locator(BARS).locator(f"path[aria-label^='{worst}: ']").first
    click_centre(page, bar)
    assert_no_exception(page)
    assert query(page) == {"true": str(worst)}
    assert (filter_value(page, "True class"), filter_value(page, "Predicted class")) == (str(worst), "any")
    assert shown_count(page) == min(int(expected.errors_per_class[worst]), SHOWN_AT_MOST)
    assert page.locator(MATRIX).locator(OUTLINES).count() == 9, "the class's row of error cells outlined"


def test_the_share_view_is_chosen_by_keyboard_and_a_click_on_its_cell_opens_the_mistakes(
    page, app_url, expected
):
    from mnist_mlp import evaluate
    from tests.e2e import axe
    from tests.e2e.test_keyboard import tab_to
    from ui import charts

    confusion = expected.confusion
    shares, totals = evaluate.confusion_shares(confusion), confusion.sum(axis=1)
    cells = [cell for cell in evaluate.error_cells(shares) if confusion[cell] <= SHOWN_AT_MOST]
    true_class, predicted_class = cells[0]  # the largest share that the grid shows in full
    count = int(confusion[true_class, predicted_class])
    open_page(page, app_url, "misclassifications")
    focused = tab_to(page, "Counts", kind="radio")
    assert focused["ring"], "the focused Counts choice shows no focus ring"
    page.keyboard.press("ArrowRight")  # to "Share of each true class"
    wait_for_idle(page)
    assert_no_exception(page)
    assert query(page) == {"matrix": "share"}
    assert not axe.severe(axe.lasting(page, "Misclassifications, shares")), "no serious accessibility fault"

    share = charts.percent(shares[true_class, predicted_class])
    said = f"{true_class} read as {predicted_class}: {share} ({count} of {totals[true_class]:,})"
    click_centre(page, page.locator(MATRIX).locator(f"path[aria-label='{said}']"))
    assert_no_exception(page)
    assert query(page) == {"matrix": "share", "true": str(true_class), "predicted": str(predicted_class)}
    assert shown_count(page) == count
    outlined = page.locator(MATRIX).locator(OUTLINES)
    assert outlined.count() == 1 and outlined.get_attribute("aria-label") == said
    assert filter_value(page, "Show the examples of a cell") == said, "the cell picker follows"
