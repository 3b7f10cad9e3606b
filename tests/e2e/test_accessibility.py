"""axe-core on every page of the app in Chromium: no serious or critical accessibility fault.

The pages are read from app.py's st.Page calls (`accessibility.app_pages`), so a page added there is
audited too. Also audited: the Draw page after a drawing, and the Train page while it trains.
`python -m benchmarks.accessibility` prints the counts of every impact, page by page.
"""

from __future__ import annotations

import pytest

from benchmarks import accessibility
from tests.e2e.conftest import assert_no_exception

pytestmark = pytest.mark.e2e

PAGES = accessibility.app_pages()


def assert_no_severe_faults(page, where: str) -> None:
    faults = accessibility.severe(accessibility.lasting(page, where))
    assert not faults, "serious or critical accessibility faults:\n" + "\n".join(map(str, faults))


def test_the_page_list_is_read_from_app_py():
    paths = dict(PAGES)
    assert paths["Home"] == "" and paths["Train"] == "train" and paths["My drawings"] == "drawings"
    assert {"Draw", "Misclassifications", "Weights", "Compare", "Data", "Models"} <= set(paths)


@pytest.mark.parametrize(("title", "path"), PAGES, ids=[title for title, _ in PAGES])
def test_no_serious_fault_on_the_page(page, app_url, title, path):
    accessibility.open_rendered(page, app_url, path)
    assert_no_exception(page)
    assert_no_severe_faults(page, title)


def test_no_serious_fault_on_the_draw_page_after_a_drawing(page, app_url):
    accessibility.open_rendered(page, app_url, "draw")
    accessibility.draw_a_digit(page)
    assert_no_exception(page)
    assert_no_severe_faults(page, "Draw, after a drawing")


def test_no_serious_fault_on_the_train_page_while_training(page, app_url):
    accessibility.open_rendered(page, app_url, "train")
    accessibility.start_training(page)
    try:
        assert_no_severe_faults(page, "Train, while training")
    finally:
        accessibility.stop_training(page)  # the shared server's CPU back for the other tests
