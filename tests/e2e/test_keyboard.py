"""The keyboard alone: on the Train page Tab to Start training, Enter, Tab to Stop, Enter, then the
stopped run named and saved; on the Draw page, a picture to read chosen and uploaded without a pointer;
on Misclassifications, a model picked, mistakes filtered and a confusion cell's examples opened.

Only key presses drive the page (no clicks); where focus is, is read from document.activeElement,
and each focused control must show that it has focus.
"""

from __future__ import annotations

import contextlib
import json
import time
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

from tests.e2e import axe
from tests.e2e.conftest import ROOT, assert_no_exception, wait_for_idle
from ui import widgets

pytestmark = pytest.mark.e2e

SAVED_NAME = "keyboard-saved"  # the stopped run is saved under this name
MAX_TABS = 120  # more than the Train page's controls (sidebar, settings) before Start
# The focused element: its text (a button's label; the icon's ligature is a line of its own), whether
# it is a disabled control, and whether a focus ring shows (an outline or a box shadow).
# A focusable container (Streamlit's main area) is named by its tag alone, not by all the text it holds.
FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const control = element.matches("button, input, textarea, select, a, summary, [role]");
  const name = element.getAttribute("aria-label") || element.labels?.[0]?.innerText || element.innerText;
  const lines = control ? (name || "").split("\\n") : [`(${element.tagName.toLowerCase()})`];
  return {
    kind: element.getAttribute("role") || element.getAttribute("type") || element.tagName.toLowerCase(),
    lines: lines.map((line) => line.trim()).filter(Boolean),
    ring: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none",
  };
}"""


def tab_to(page, label: str, kind: str | None = None) -> dict:
    """Press Tab until the focused element is labelled `label` (and is of `kind`: "radio", "button",
    ..., when given); what it is (see FOCUSED)."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is not None and label in focused["lines"] and kind in (None, focused["kind"]):
            return focused
        seen.append(f"{focused['kind']}: {' / '.join(focused['lines'])}" if focused else "(nothing)")
    raise AssertionError(f"Tab never reached {label!r} in {MAX_TABS} presses; it went to: {seen}")


def test_training_starts_stops_and_is_saved_with_the_keyboard_alone(page, app_url, e2e_store):
    axe.open_rendered(page, app_url, "train")
    progress = page.locator("[data-testid='stProgress']")
    assert progress.count() == 0

    tab_to(page, "Epochs")  # long enough to reach Stop while it runs: the most the field takes
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(str(axe.TRAINING_EPOCHS))
    page.keyboard.press("Enter")
    wait_for_idle(page)
    epochs = page.locator(f".st-key-train_epochs_{axe.TRAINING_PRESET} input")
    assert epochs.input_value() == str(axe.TRAINING_EPOCHS)

    start = tab_to(page, "Start training")
    assert start["ring"], "the focused Start training button shows no focus ring"
    page.keyboard.press("Enter")
    progress.filter(has_text="Epoch").wait_for(timeout=90_000)  # started: progress by epoch and batch

    stop = tab_to(page, "Stop")
    assert stop["ring"], "the focused Stop button shows no focus ring"
    page.keyboard.press("Enter")
    stopped = page.locator("[data-testid='stAlertContentWarning']").filter(has_text="Stopped at epoch")
    stopped.wait_for(timeout=90_000)
    wait_for_idle(page)
    assert progress.count() == 0  # the live view has given way to the stopped run's results

    tab_to(page, "Name", kind="text")  # the stopped run's name box, holding a suggested name
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(SAVED_NAME)
    save = tab_to(page, "Save", kind="button")  # leaving the box commits the name: a run
    wait_for_idle(page)
    assert page.evaluate(FOCUSED)["lines"][-1:] == ["Save"], "the run moved focus off Save"
    assert save["ring"], "the focused Save button shows no focus ring"
    page.keyboard.press("Enter")
    page.get_by_text(f"Saved as '{SAVED_NAME}'").wait_for(timeout=120_000)
    folder = e2e_store / SAVED_NAME
    assert (folder / "model.keras").stat().st_size > 0
    assert json.loads((folder / "card.json").read_text())["name"] == SAVED_NAME
    assert_no_exception(page)


def test_a_picture_is_uploaded_and_read_with_the_keyboard_alone(page, app_url, tmp_path):
    sample = np.load(ROOT / "mnist_mlp" / "sample" / "mnist_sample.npz")
    index = int(np.flatnonzero(sample["y_test"] == 7)[1])  # the first 7's hooked top reads as a 9
    picture = tmp_path / "seven.png"  # a real test digit as a scan would show it: dark ink on white
    Image.fromarray(np.kron(255 - sample["x_test"][index], np.ones((4, 4), np.uint8))).save(picture)
    axe.open_rendered(page, app_url, "draw")

    tab_to(page, "Draw", kind="radio")  # the input's source: Draw, then Upload a picture
    page.keyboard.press("ArrowRight")
    wait_for_idle(page)
    upload = tab_to(page, "Upload", kind="button")  # the uploader's own button
    assert upload["ring"], "the focused Upload button shows no focus ring"
    open_file_chooser_by_key(page).set_files(picture)
    prediction = page.locator("[data-testid='stMetric']").filter(has_text="Prediction")
    prediction.wait_for(timeout=60_000)
    assert prediction.locator("[data-testid='stMetricValue']").inner_text().strip() == "7"
    assert_no_exception(page)


def open_file_chooser_by_key(page, tries: int = 3):
    """Enter on the focused Upload button: the file chooser it opens. Now and then (about one run in
    four on a loaded machine) the first Enter opens none though the button has the focus, as if the
    uploader were not yet wired to its input; a person would press again, and so does this, with the
    focus checked each time."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(tries - 1):
        with contextlib.suppress(PlaywrightTimeout):
            return _chooser_on_enter(page)
    return _chooser_on_enter(page)


def _chooser_on_enter(page):
    focused = page.evaluate(FOCUSED)
    assert focused is not None and focused["kind"] == "button", f"focus left the Upload button: {focused}"
    with page.expect_file_chooser(timeout=10_000) as chooser:
        page.keyboard.press("Enter")
    return chooser.value


def choose_by_typing(page, label: str, option: str) -> None:
    """Tab to the selectbox labelled `label`, type `option` and press Enter: it is chosen."""
    tab_to(page, label, kind="combobox")
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    wait_for_idle(page)


def misread_class() -> str:
    """A class the shipped digit model misreads at least one test digit of, from its own evaluation."""
    from mnist_mlp import data, evaluate, store

    sample = data.load("mnist", data.SAMPLE_DIR / data.SAMPLE_FILES["mnist"])  # what the e2e server shows
    reads = evaluate.evaluate(store.load("digits-mlp").model, sample.x_test, sample.y_test).predictions
    assert (reads != sample.y_test).any(), "the shipped model reads every bundled test digit right"
    return str(int(np.bincount(sample.y_test[reads != sample.y_test], minlength=10).argmax()))


def settled_after_charts(page) -> None:
    """Wait until the charts are drawn and the run their first selection event starts has ended: a
    choice made before that is lost to the rerun (seen after an earlier test had warmed the caches)."""
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)
    wait_for_idle(page)


def gallery_when(page, done, timeout_s: float = 60) -> list[str]:
    """The misread images' alt texts once `done(alts)` holds, or as they are after `timeout_s`."""
    gallery = page.locator("[role='group'][aria-label$='misread images'] img")
    deadline = time.monotonic() + timeout_s
    while True:
        alts = [gallery.nth(i).get_attribute("alt") for i in range(gallery.count())]
        if done(alts) or time.monotonic() > deadline:
            return alts
        page.wait_for_timeout(250)


def test_a_model_is_picked_and_mistakes_filtered_with_the_keyboard_alone(page, app_url):
    true_class = misread_class()
    axe.open_rendered(page, app_url, "")
    choose_by_typing(page, "Model", "fashion-mlp")  # the sidebar's picker
    page.get_by_role("heading", name="fashion-mlp").wait_for(timeout=60_000)  # its card

    axe.open_rendered(page, app_url, "misclassifications?model=digits-mlp")
    settled_after_charts(page)
    choose_by_typing(page, "True class", true_class)
    said = f": {widgets.article(true_class)}, read as "
    # The unfiltered gallery is already there: wait until the filtered one has replaced it.
    alts = gallery_when(page, lambda alts: alts and all(said in alt for alt in alts))
    assert alts and all(said in alt for alt in alts), alts
    assert_no_exception(page)


def test_a_confusion_cells_examples_are_opened_with_the_keyboard_alone(page, app_url):
    axe.open_rendered(page, app_url, "misclassifications?model=digits-mlp")
    tab_to(page, "Show the examples of a cell", kind="combobox")
    page.keyboard.press("ArrowDown")  # opens the list on "pick a cell"
    page.keyboard.press("ArrowDown")  # the cell with the most errors
    page.keyboard.press("Enter")
    wait_for_idle(page)
    query = {key: values[0] for key, values in parse_qs(urlparse(page.url).query).items()}
    assert {"true", "predicted"} <= set(query), page.url
    true_class, predicted_class = query["true"], query["predicted"]
    assert true_class != predicted_class  # a cell of errors, not the diagonal
    said = f": {widgets.article(true_class)}, read as {predicted_class} "
    alts = gallery_when(page, lambda alts: alts and all(said in alt for alt in alts))
    assert alts and all(said in alt for alt in alts), (said, alts)
    assert_no_exception(page)
