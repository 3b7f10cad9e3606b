"""The legacy-pages guard: a page Streamlit runs alone (pages/ as a v1 folder) is run again through app.py."""

import pytest

from tests.app.conftest import APP, PAGES, TIMEOUT, texts


@pytest.fixture(autouse=True)
def fresh_streamlit():
    """Streamlit as on a fresh server, where pages/ is a legacy folder until st.navigation has run.

    AppTest starts every run so; this stands in for conftest's fixture, which turns that off.
    """
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def open_alone(name: str):
    """A page as a fresh server's first sessions can ask for it: Streamlit runs its file alone."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    return at.switch_page(PAGES[name]).run()


def model_pickers(at) -> list:
    return [box for box in at.sidebar.selectbox if box.key == "model_name"]


def test_a_page_run_alone_is_run_again_through_app(models_folder):
    at = open_alone("data")
    assert not at.exception, at.exception[0].value if at.exception else ""
    assert texts(at.title) == ["Data"]
    assert [picker.value for picker in model_pickers(at)] == ["digits-mlp"]  # app.py's sidebar


def test_without_the_guard_the_page_runs_bare(models_folder, monkeypatch):
    """The check above can fail: with the guard's call made a no-op the page shows no model picker."""
    import ui

    monkeypatch.setattr(ui, "through_app", lambda: None)
    at = open_alone("data")
    assert texts(at.title) == ["Data"]
    assert model_pickers(at) == []
