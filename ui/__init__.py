"""The app's shared Streamlit pieces, one module per concern; pages import the modules they use.

`resources` (every st.cache_* wrapper), `picker` (the model picker and the picked model), `training`
(this session's runs), `widgets` and `charts`, `links` (settings in the URL), `collection` (my
drawings), `probing` and `explanations` (the Draw page's probe and "why"). TensorFlow is imported
only by the functions that need it. Importing the package first repairs a start-up mode, below.
"""

import streamlit as st


def _leave_legacy_pages_mode() -> bool:
    """Keep Streamlit from treating pages/ as a legacy (v1) multipage folder; True if it was.

    Until st.navigation has run once in the process, Streamlit 1.67 answers a request for a
    sub-page (say /draw, from a tab left open across a server restart) by running that page's
    file alone, without app.py, and goes on doing so for every session until someone opens /.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a later Streamlit without the legacy mode
        return False
    legacy = bool(PagesManager.uses_pages_directory)
    PagesManager.uses_pages_directory = False
    return legacy


def _rerun_after_import() -> None:
    """Queue a rerun of this session that starts at its next element, not here.

    st.rerun() would raise inside `import ui`, and CPython gives a module whose import failed,
    half run, to every thread that was waiting on the same import: sessions opening a fresh
    server at the same moment would get a `ui` without its functions (AttributeError).
    """
    from streamlit.runtime.scriptrunner import RerunData, get_script_run_ctx

    context = get_script_run_ctx()
    if context is not None and context.script_requests is not None:
        rerun = RerunData(query_string=context.query_string, page_script_hash=context.page_script_hash)
        context.script_requests.request_rerun(rerun)


if _leave_legacy_pages_mode() and st.runtime.exists():
    _rerun_after_import()  # a page imported us without app.py: run again, through app.py this time
