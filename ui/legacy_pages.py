"""The one guard against Streamlit's legacy pages/ mode: a page run without app.py is run again through it.

Streamlit 1.67 treats a `pages/` folder beside the entry point as a legacy (v1) multipage folder
until `st.navigation` has run once in the process, and runs a requested page's file alone: its own
sidebar of file names, no model picker. On a freshly started server every session that opens
before app.py's first run gets such a run: a class opening the teacher's link at once, most of them.
Streamlit has no setting for this (`client.showSidebarNavigation` only hides the menu); its own
advice is to name the folder otherwise, and our layout keeps `pages/`. Every page calls
`through_app()` first; nothing else here is used by a page. Remove this module, and the call, once
Streamlit drops the legacy mode. Tests: tests/app/test_legacy_pages.py, and the fresh-server test in
tests/e2e/test_load.py.
"""

from pathlib import Path

import streamlit as st


def through_app() -> None:
    """Run this page again, through app.py, when Streamlit ran it alone; every page calls it first."""
    if _ran_without_app():
        stop_legacy_mode()
        st.rerun()  # the same page and query string; app.py routes it this time


def stop_legacy_mode() -> None:
    """From now on, in this process, run every page through app.py (what st.navigation sets too).

    Writes Streamlit's private class flag `PagesManager.uses_pages_directory`, which st.navigation
    sets to False on its first call; this is the only place that touches it.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a later Streamlit without the legacy mode
        return
    PagesManager.uses_pages_directory = False


def _ran_without_app() -> bool:
    """Whether this run's pages are the legacy folder's: they include app.py as a page of its own."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None or context.pages_manager is None:
        return False
    manager = context.pages_manager
    main = Path(manager.main_script_path).resolve()
    return any(Path(page["script_path"]).resolve() == main for page in manager.get_pages().values())
