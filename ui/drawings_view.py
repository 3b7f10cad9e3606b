"""The My drawings page's pieces: the collection box, the downloads, and the drawings by label."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import streamlit as st

from mnist_mlp import my_drawings
from ui import collection, widgets

COLLECTION_INPUT_KEY = "drawings_collection_input"
ERROR_KEY = "drawings_error"  # session_state: an error from a callback, shown once on the next run
COLUMNS = 8  # drawings per row
PER_LABEL = 32  # newest drawings shown per label; the rest stay on disk and in the exports
DOWNLOADS = (  # label, bytes from (dataset name, folder), file name's end, MIME type, key, help
    ("Download .npz", my_drawings.npz_bytes, ".npz", "application/octet-stream", "drawings_npz",
     "Keras layout: x_train, y_train, x_test, y_test; both halves hold every drawing."),
    ("Download IDX (zip)", my_drawings.idx_zip_bytes, "-idx.zip", "application/zip", "drawings_idx",
     "The four gzipped IDX files of MNIST's own format; unzipped, `--data FOLDER` reads them."),
)  # fmt: skip


def use_collection() -> None:
    """A callback: a valid collection name typed in is used by this session on every page."""
    name = st.session_state[COLLECTION_INPUT_KEY].strip()
    try:
        my_drawings.collection_dir(name)
    except ValueError as err:
        st.session_state[ERROR_KEY] = str(err)
        return
    st.session_state[collection.DRAWINGS_COLLECTION_KEY] = name


def delete(drawing: my_drawings.Drawing) -> None:
    """A callback: delete one drawing; any error is shown once, on the next run."""
    try:
        my_drawings.delete(drawing)
    except (ValueError, OSError) as err:
        st.session_state[ERROR_KEY] = str(err)


def collection_box() -> None:
    """What the page is for, and the collection's name; a refused name or failed delete shown once."""
    named = st.session_state.get(collection.DRAWINGS_COLLECTION_KEY, "")
    where = f" --drawings-folder '{collection.drawings_folder()}'" if named else ""
    st.caption(
        "Drawings saved on the Draw page with their true labels: a dataset of your own, for the "
        f"Misclassifications page, `python -m mnist_mlp evaluate --drawings{where}` and fine-tuning on the "
        "Train page."
    )
    st.text_input(
        "Collection",
        value=st.session_state.get(collection.DRAWINGS_COLLECTION_KEY, ""),
        placeholder="the main collection",
        key=COLLECTION_INPUT_KEY,
        on_change=use_collection,
        help=f"A name keeps a class's or a lesson's drawings apart, in a folder of that name inside "
        f"{my_drawings.drawings_dir()} (set ${my_drawings.DRAWINGS_ENV} to move them all). "
        "Empty: the main one.",
    )
    if ERROR_KEY in st.session_state:  # from a callback: a refused name, or a failed delete
        st.error(st.session_state.pop(ERROR_KEY))


def counts_and_downloads(
    listed: list[my_drawings.Drawing], names: list[str], name: str, folder: Path
) -> list[int]:
    """How many drawings of each label (returned, (10,)), and the .npz and IDX downloads of them all."""
    counts = [sum(d.label == label for d in listed) for label in range(10)]
    st.write(
        f"**{len(listed):,}** drawings: "
        + ", ".join(f"{names[label]} {count}" for label, count in enumerate(counts) if count)
    )
    for column, (label, make, suffix, mime, key, help_text) in zip(
        st.columns([1, 1, 2]), DOWNLOADS, strict=False
    ):
        column.download_button(
            label,
            data=functools.partial(make, name, folder),
            file_name=f"my-drawings-{name}{suffix}",
            mime=mime,
            icon=":material/download:",
            key=key,
            help=help_text,
        )
    return counts


def by_label(listed: list[my_drawings.Drawing], names: list[str], counts: list[int]) -> None:
    """The labels to show, then each one's newest drawings in rows, each with its Delete button."""
    labels = [label for label in range(10) if counts[label]]
    shown = st.segmented_control(
        "Labels",
        labels,
        selection_mode="multi",
        default=labels,
        format_func=names.__getitem__,
        key="drawings_labels",
    )
    for label in sorted(shown or []):
        group = [d for d in reversed(listed) if d.label == label][:PER_LABEL]  # newest first
        st.header(f"{names[label]} ({counts[label]})")
        for start in range(0, len(group), COLUMNS):
            for column, drawing in zip(st.columns(COLUMNS), group[start : start + COLUMNS], strict=False):
                with column:
                    _tile(drawing, names[label])
        if counts[label] > PER_LABEL:
            st.caption(f"The newest {PER_LABEL} of {counts[label]}; the downloads hold them all.")


def _tile(drawing: my_drawings.Drawing, name: str) -> None:
    saved = time.strftime("%d %b %H:%M", time.localtime(drawing.created))
    try:
        widgets.digit(
            my_drawings.read(drawing),
            saved,
            84,
            alt=f"Your drawing of {widgets.article(name)}, saved {saved}",
        )
    except my_drawings.DrawingsError as err:
        st.warning(str(err))
    st.button(
        "",
        key=f"drawings_delete_{drawing.id}",
        on_click=delete,
        args=(drawing,),
        icon=":material/delete:",
        help="Delete this drawing",
    )
