"""axe-core on every page of the app in Chromium: no serious or critical accessibility fault.

The pages are read from app.py's st.Page calls (`axe.app_pages`), so a page added there is audited
too. Also audited: the Draw page after a drawing, the Train page while it trains, and the Class board
with drawings in its collection. `python -m benchmarks.accessibility` prints the counts of every
impact, page by page.
"""

from __future__ import annotations

import numpy as np
import pytest

from mnist_mlp import my_drawings
from tests.e2e import axe
from tests.e2e.conftest import ROOT, assert_no_exception

pytestmark = pytest.mark.e2e

PAGES = axe.app_pages()
BOARD_COLLECTION = "axe-board"  # a collection of this test's own in the server's drawings folder
# Bundled test digits saved with their own label, and a few with another (a 7 saved as a 1), so the
# board has right and wrong reads: off-diagonal cells in its confusion matrix and crosses in its grids.
RIGHT_DRAWINGS, MISLABELLED_DRAWINGS = 9, 3


def assert_no_severe_faults(page, where: str) -> None:
    faults = axe.severe(axe.lasting(page, where))
    assert not faults, "serious or critical accessibility faults:\n" + "\n".join(map(str, faults))


def test_the_page_list_is_read_from_app_py():
    paths = dict(PAGES)
    assert paths["Home"] == "" and paths["Train"] == "train" and paths["My drawings"] == "drawings"
    assert {"Draw", "Misclassifications", "Weights", "Compare", "Data", "Models"} <= set(paths)


@pytest.mark.parametrize(("title", "path"), PAGES, ids=[title for title, _ in PAGES])
def test_no_serious_fault_on_the_page(page, app_url, title, path):
    axe.open_rendered(page, app_url, path)
    assert_no_exception(page)
    assert_no_severe_faults(page, title)


def test_no_serious_fault_on_the_draw_page_after_a_drawing(page, app_url):
    axe.open_rendered(page, app_url, "draw")
    axe.draw_a_digit(page)
    assert_no_exception(page)
    assert_no_severe_faults(page, "Draw, after a drawing")


def test_no_serious_fault_on_the_train_page_while_training(page, app_url):
    axe.open_rendered(page, app_url, "train")
    axe.start_training(page)
    try:
        assert_no_severe_faults(page, "Train, while training")
    finally:
        axe.stop_training(page)  # the shared server's CPU back for the other tests


def test_no_serious_fault_on_the_board_with_drawings(page, app_url, drawings_folder):
    sample = np.load(ROOT / "mnist_mlp" / "sample" / "mnist_sample.npz")
    images, labels = sample["x_test"], sample["y_test"]
    folder = drawings_folder / BOARD_COLLECTION  # where the server's collection_dir puts it
    for index in range(RIGHT_DRAWINGS):
        my_drawings.save(images[index], int(labels[index]), "mnist", folder)
    for index in range(RIGHT_DRAWINGS, RIGHT_DRAWINGS + MISLABELLED_DRAWINGS):
        my_drawings.save(images[index], (int(labels[index]) + 1) % 10, "mnist", folder)
    total = RIGHT_DRAWINGS + MISLABELLED_DRAWINGS

    axe.open_rendered(page, app_url, f"board?collection={BOARD_COLLECTION}")
    drawings = page.locator("[data-testid='stMetric']").filter(has_text="Drawings")
    drawings.locator("[data-testid='stMetricValue']").filter(has_text=str(total)).wait_for(timeout=60_000)
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)  # "Read as"
    for kind in ("newest drawings", "drawings hardest to read"):
        page.locator(f"[role='group'][aria-label$='{kind}'] img").first.wait_for(timeout=60_000)
    assert_no_exception(page)
    assert_no_severe_faults(page, "Class board, with drawings")
