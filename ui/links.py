"""Links: a page's settings kept in the URL's query parameters, so a shared link opens the same view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

URL_READ_KEY = "url_params_read"  # session_state: query parameters already applied to their widgets


def _url_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def url_bound(param: str, key: str, allowed: Sequence[Any] | Callable[[str], Any], default: Any) -> None:
    """Tie the widget with session_state `key` to the URL's query parameter `param`; call before the widget.

    The first time a session meets `param`, its value in the URL becomes the widget's value, so a
    shared link opens the same view; a bad value (a hand-edited link) is ignored and the widget keeps
    its default. From then on the widget's value is written to the URL, and left out while it equals
    `default`, which keeps links short.

    Args:
        allowed: the widget's options (the URL holds their text: "3", "true", "softmax"), or a
            function from the URL's text to a value that raises ValueError for a bad one.
        default: the value the widget has when the URL does not say.
    """
    state = st.session_state
    read = state.setdefault(URL_READ_KEY, set())
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
    if key in state and state[key] != default:
        if st.query_params.get(param) != _url_text(state[key]):
            st.query_params[param] = _url_text(state[key])
    elif param in st.query_params:
        del st.query_params[param]


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
