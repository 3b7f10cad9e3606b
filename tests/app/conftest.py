"""AppTest fixtures: the real app.py over a temporary store holding one tiny model trained once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app.py"
TIMEOUT = 60  # seconds per script run; AppTest's default of 3 s is less than a TensorFlow import
PAGES = {
    "home": "pages/home.py",
    "train": "pages/train.py",
    "draw": "pages/draw.py",
    "misclassifications": "pages/misclassifications.py",
    "weights": "pages/weights.py",
    "compare": "pages/compare.py",
    "drawings": "pages/drawings.py",
    "board": "pages/board.py",
    "data": "pages/data.py",
    "models": "pages/models.py",
}


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory, trained, digits) -> Path:
    """A store with the session's tiny trained model saved twice: as the default and as 'tiny'."""
    from mnist_mlp import cards, evaluate, store

    folder = tmp_path_factory.mktemp("app-store")
    test = evaluate.evaluate(trained.model, digits.x_test, digits.y_test)
    for name in (store.DEFAULT_MODEL, "tiny"):  # 'tiny' is saved last, so it is the newest
        card = cards.make_card(name, trained, digits, {"train": 1000, "validation": 400}, test)
        store.save(trained.model, card, snapshots=trained.snapshots, store=folder)
    return folder


@pytest.fixture
def models_folder(tiny_store, tmp_path, monkeypatch) -> Path:
    """A private copy of the tiny store, set as the app's store; nothing shipped leaks in."""
    from mnist_mlp import store

    folder = tmp_path / "models"
    shutil.copytree(tiny_store, folder)
    monkeypatch.setenv(store.STORE_ENV, str(folder))
    monkeypatch.setattr(store, "SHIPPED_STORE", tmp_path / "no-shipped-models")
    monkeypatch.setenv("MNIST_MLP_DRAWINGS", str(tmp_path / "drawings"))  # never the user's own
    return folder


@pytest.fixture(autouse=True)
def fresh_streamlit(monkeypatch):
    """Empty Streamlit caches, and st.navigation mode for every AppTest run.

    AppTest forgets before each run that st.navigation is in use, and with a pages/ folder beside
    app.py Streamlit then runs a switched-to page without app.py (its legacy multipage mode). A
    real server remembers it for the life of the process, so the tests do the same.
    """
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager

    from ui import legacy_pages

    original_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        legacy_pages.stop_legacy_mode()
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(PagesManager, "__init__", init)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def app(models_folder):
    """The app, run once on its home page."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    yield at
    training = at.session_state.get("training")
    if training is not None:  # never leave a training thread behind
        training.job.stop()
        training.job.wait(10)


def open_page(at, name: str):
    """Switch to a page by its short name and run it."""
    return at.switch_page(PAGES[name]).run()


def texts(elements) -> list[str]:
    return [str(element.value) for element in elements]


def chart_table(chart):
    """The data of a chart as the browser gets it, a pandas DataFrame: an Altair chart's one dataset, or
    the data of a chart drawn from a spec."""
    from streamlit import dataframe_util

    datasets = chart.proto.datasets
    assert len(datasets) <= 1, f"one dataset, found {len(datasets)}"
    source = datasets[0].data.data if datasets else chart.proto.data.data
    return dataframe_util.convert_arrow_bytes_to_pandas_df(source)
