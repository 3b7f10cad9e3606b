"""My drawings: the collection of labelled drawings saved from the Draw page, and the form that saves them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from mnist_mlp import data
from ui import resources, widgets

DRAWINGS_COLLECTION_KEY = "drawings_collection"  # session_state: a collection named on My drawings


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
    """Save the drawing with its true label: the prediction, unless corrected; a toast says where."""
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
