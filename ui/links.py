"""Links: a page's settings kept in the URL's query parameters, so a shared link opens the same view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

URL_READ_KEY = "url_params_read"  # session_state: query parameters already applied to their widgets
URL_VALUES_KEY = "url_values"  # session_state: widget key -> its value, kept across page changes


def _url_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def url_bound(
    param: str,
    key: str,
    allowed: Sequence[Any] | Callable[[str], Any],
    default: Any,
    *,
    always: bool = False,
) -> None:
    """Tie the widget with session_state `key` to the URL's query parameter `param`; call before the widget.

    The first time a session meets `param`, its value in the URL becomes the widget's value, so a
    shared link opens the same view; a bad value (a hand-edited link) is ignored and the widget keeps
    its default. From then on the widget's value is written to the URL, and left out while it equals
    `default`, which keeps links short. The value is also kept aside, because Streamlit forgets a
    widget's value when its page is left: coming back shows the view as it was left.

    Args:
        allowed: the widget's options (the URL holds their text: "3", "true", "softmax"), or a
            function from the URL's text to a value that raises ValueError for a bad one.
        default: the value the widget has when the URL does not say.
        always: write the value even when it equals `default`, for a default that can change (say
            the newest model), so the link keeps meaning the same thing.
    """
    state = st.session_state
    read = state.setdefault(URL_READ_KEY, set())
    kept = state.setdefault(URL_VALUES_KEY, {})
    if param not in read:
        read.add(param)
        text = st.query_params.get(param)
        if text is not None:
            try:
                if callable(allowed):
                    state[key] = allowed(text)
                else:
                    state[key] = next(option for option in allowed if _url_text(option) == text)
            except (ValueError, StopIteration):
                pass  # not a value this widget can take: it keeps its default
    elif key not in state and key in kept and _allowed(kept[key], allowed):
        state[key] = kept[key]
    value = state.get(key, default)
    if key in state:
        kept[key] = value
    if value != default or always:
        if st.query_params.get(param) != _url_text(value):
            st.query_params[param] = _url_text(value)
    elif param in st.query_params:
        del st.query_params[param]


def _allowed(value: Any, allowed: Sequence[Any] | Callable[[str], Any]) -> bool:
    """Whether a kept value still fits the widget (a saved model may have been deleted since)."""
    if callable(allowed):
        try:
            return allowed(_url_text(value)) == value
        except ValueError:
            return False
    return value in allowed


def int_in(low: int, high: int) -> Callable[[str], int]:
    """A parser for `url_bound`: the URL's text as an integer in low..high, else ValueError."""

    def parse(text: str) -> int:
        number = int(text)
        if not low <= number <= high:
            raise ValueError(f"Expected an integer in {low}..{high}. Received: {number}.")
        return number

    return parse


def class_link() -> None:
    """The address of this page as set up now, to share: it opens the same view for everyone."""
    from urllib.parse import urlencode

    query = urlencode(st.query_params.to_dict())
    link = (st.context.url or "") + (f"?{query}" if query else "")
    with st.popover("Link for the class", icon=":material/link:"):
        st.caption("Anyone who opens this link sees this page set up as it is now.")
        st.code(link or "(this page with its default settings)", language=None)
