"""The app's shared Streamlit pieces, one module per concern; pages import the modules they use.

`resources` (every st.cache_* wrapper), `picker` (the model picker and the picked model), `training`
(this session's runs), `widgets` and `charts`, `links` (settings in the URL), `collection` (my
drawings), `probing` and `explanations` (the Draw page's probe and "why"), `classroom` (this session's
owner id and teacher rights). TensorFlow is imported
only by the functions that need it. Every page calls `through_app()` first; see there.
"""

from pathlib import Path

import streamlit as st


def _leave_legacy_pages_mode() -> None:
    """Keep Streamlit from treating pages/ as a legacy (v1) multipage folder from now on."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a later Streamlit without the legacy mode
        return
    PagesManager.uses_pages_directory = False


def through_app() -> None:
    """Run this page again, through app.py, when Streamlit ran it alone; every page calls it first.

    Until st.navigation has run once in the process, Streamlit 1.67 treats pages/ as a legacy (v1)
    multipage folder and runs a requested page's file alone: its own sidebar of file names, no model
    picker. On a freshly started server every session that opens before app.py's first run gets
    such a run: a class opening the teacher's link at once, most of them.
    """
    if _ran_without_app():
        _leave_legacy_pages_mode()
        st.rerun()  # the same page and query string; app.py routes it this time


def _ran_without_app() -> bool:
    """Whether this run's pages are the legacy folder's: they include app.py as a page of its own."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None or context.pages_manager is None:
        return False
    manager = context.pages_manager
    main = Path(manager.main_script_path).resolve()
    return any(Path(page["script_path"]).resolve() == main for page in manager.get_pages().values())
