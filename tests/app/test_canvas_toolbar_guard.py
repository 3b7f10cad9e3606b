"""The Draw page sends the script that lets touches through the canvas's hidden toolbar, once a run.

The browser side (a stroke from the corner draws, a tap there keeps the drawing) is in
tests/e2e/test_drawn_digits.py; here: the page always sends it, and st.html will run it.
"""

from tests.app.conftest import open_page
from ui import widgets


def guards(app) -> list:
    return [html.proto for html in app.get("html") if html.proto.body == widgets.CANVAS_TOOLBAR_GUARD]


def test_the_draw_page_sends_the_toolbar_guard_with_the_canvas_and_after_clear(app):
    open_page(app, "draw")
    (guard,) = guards(app)
    assert guard.unsafe_allow_javascript
    app.button[0].click().run()  # Clear: a new canvas, and the guard again
    assert len(guards(app)) == 1
    app.radio(key="draw_source").set_value("Upload a picture").run()
    assert guards(app) == []  # no canvas, nothing to guard
    assert not app.exception


def test_the_guard_is_one_script_that_dompurify_keeps():
    script = widgets.CANVAS_TOOLBAR_GUARD
    assert script.startswith("<script>\n") and script.endswith("\n</script>")
    body = script.removeprefix("<script>").removesuffix("</script>")
    assert "<" not in body  # DOMPurify drops a script whose text has a tag-like "<"
    assert "pointer-events: none" in body and ".dc-toolbar" in body
