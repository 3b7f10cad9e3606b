"""My drawings: the collection of labelled drawings saved from the Draw page, and the form that saves them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from mnist_mlp import data
from ui import links, resources, widgets

DRAWINGS_COLLECTION_KEY = "drawings_collection"  # session_state: named on My drawings or by a link
COLLECTION_PARAM = "collection"  # the address's query parameter naming it: /draw?collection=lesson-3
REFUSED_KEY = "drawings_collection_refused"  # session_state: why a link's collection was refused


def valid_name(text: str) -> str:
    """A parser for `links.url_bound`: a collection name the app accepts, stripped.

    Raises:
        DrawingsError (a ValueError): a name that is refused (a path, a reserved name), saying why.
    """
    from mnist_mlp import my_drawings

    my_drawings.collection_dir(text)
    return text.strip()


def from_link() -> None:
    """Tie this session's collection to `?collection=` in the address; call at the top of a page.

    A link such as /draw?collection=lesson-3 puts a student straight into the lesson's collection,
    with no name to type (a typo would save where the class board never looks). A refused name keeps
    the main collection, and an error says so on every run until a collection is chosen on My drawings.
    """
    state = st.session_state
    fresh = COLLECTION_PARAM not in state.get(links.URL_READ_KEY, ())
    text = st.query_params.get(COLLECTION_PARAM) if fresh else None
    links.url_bound(COLLECTION_PARAM, DRAWINGS_COLLECTION_KEY, valid_name, "")
    if text is not None and DRAWINGS_COLLECTION_KEY not in state:
        try:
            valid_name(text)
        except ValueError as err:
            state[REFUSED_KEY] = (
                f"This link's collection is refused. {err} Your drawings go to the main collection: ask "
                "for the link again, or choose the collection on the My drawings page."
            )
    if REFUSED_KEY in state and DRAWINGS_COLLECTION_KEY not in state:
        st.error(state[REFUSED_KEY], icon=":material/link_off:")


def describe(name: str) -> str:
    """A collection as a sentence names it (Markdown): "the collection `lesson 3`", "the main collection"."""
    return f"the collection `{name}`" if name else "the main collection"


def drawings_folder() -> Path:
    """This session's drawings folder: the collection named on the My drawings page, else the default."""
    from mnist_mlp import my_drawings

    try:
        return my_drawings.collection_dir(st.session_state.get(DRAWINGS_COLLECTION_KEY, ""))
    except ValueError:  # a bad name is refused where it is typed; until then the default serves
        return my_drawings.drawings_dir()


def signature(name: str, folder: Path) -> str:
    """What my drawings of `name` in `folder` are now; it changes with every save or delete."""
    from mnist_mlp import my_drawings

    return my_drawings.signature(name, folder)


def my_drawings(name: str) -> data.Dataset:
    """My drawings of dataset `name` in this session's folder, read once per change.

    Raises:
        DrawingsError: there are none (a ValueError, with what to do).
    """
    folder = drawings_folder()
    return resources.drawings_dataset(name, str(folder), signature(name, folder))


def save_drawing_form(image: np.ndarray, predicted: int, names: list[str], dataset_name: str) -> None:
    """Save the drawing with its true label: the prediction, unless corrected; it says which collection it
    goes to, and a toast where it went."""
    from mnist_mlp import my_drawings

    label_column, button_column = st.columns([1, 1], vertical_alignment="bottom")
    label = label_column.selectbox(
        "It really is",
        range(10),
        index=predicted,
        format_func=lambda index: names[index],
        key=f"draw_save_label_{widgets.canvas_key()}_{predicted}",  # follows the prediction until corrected
        help="Saved drawings make a dataset of your own: see the My drawings page.",
    )
    if button_column.button("Save this drawing", key="draw_save", icon=":material/bookmark_add:"):
        try:
            saved = my_drawings.save(image, label, dataset_name, drawings_folder())
            count = len(my_drawings.list_drawings(dataset_name, drawings_folder()))
        except (ValueError, OSError) as err:
            st.error(f"Not saved: {err}")
        else:
            there = f"{count} drawing{'s' if count != 1 else ''} in {saved.path.parent}"
            st.toast(f"Saved as {names[saved.label]}: {there}", icon=":material/check:")
    st.caption(f"Saves to {describe(chosen())}: see them on the My drawings page.")


def chosen() -> str:
    """The collection this session saves to: its name, "" for the main one (also while a name is refused)."""
    name = st.session_state.get(DRAWINGS_COLLECTION_KEY, "")
    try:
        return valid_name(name)
    except ValueError:
        return ""
