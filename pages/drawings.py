"""My drawings: the drawings saved on the Draw page, by label; delete, download, choose the collection."""

import time

import streamlit as st

from mnist_mlp import data, my_drawings
from ui import collection, picker, through_app, widgets

COLLECTION_INPUT_KEY = "drawings_collection_input"
COLUMNS = 8  # drawings per row
PER_LABEL = 32  # newest drawings shown per label; the rest stay on disk and in the exports


def use_collection() -> None:
    """A callback: a valid collection name typed in is used by this session on every page."""
    name = st.session_state[COLLECTION_INPUT_KEY].strip()
    try:
        my_drawings.collection_dir(name)
    except ValueError as err:
        st.session_state["drawings_error"] = str(err)
        return
    st.session_state[collection.DRAWINGS_COLLECTION_KEY] = name


def delete(drawing: my_drawings.Drawing) -> None:
    """A callback: delete one drawing; any error is shown once, on the next run."""
    try:
        my_drawings.delete(drawing)
    except (ValueError, OSError) as err:
        st.session_state["drawings_error"] = str(err)


through_app()
st.title("My drawings")
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
    f"{my_drawings.drawings_dir()} (set ${my_drawings.DRAWINGS_ENV} to move them all). Empty: the main one.",
)
if "drawings_error" in st.session_state:  # from a callback: a refused name, or a failed delete
    st.error(st.session_state.pop("drawings_error"))
folder = collection.drawings_folder()
if folder.exists() and not folder.is_dir():
    st.error(f"{folder} is a file, not a folder: choose another collection.")
    st.stop()
entry = picker.current_entry()
kinds = list(data.DATASETS)
name = st.selectbox(
    "Kind",
    kinds,
    index=kinds.index(picker.dataset_name(entry.card if entry else None)),
    format_func=widgets.DATASET_LABELS.get,
    key="drawings_dataset",
)
names = list(data.class_names(name))
try:
    listed = my_drawings.list_drawings(name, folder)
except OSError as err:
    st.error(f"Cannot read {folder / name}: {err.strerror or err}. Choose another collection.")
    st.stop()
st.caption(f"Kept in `{folder / name}`.")
if not listed:
    st.info("No drawings here yet: draw on the Draw page, check the label and press “Save this drawing”.")
    st.page_link("pages/draw.py", label="Draw", icon=":material/draw:")
    st.stop()

counts = [sum(d.label == label for d in listed) for label in range(10)]
st.write(
    f"**{len(listed):,}** drawings: "
    + ", ".join(f"{names[label]} {count}" for label, count in enumerate(counts) if count)
)
npz_column, idx_column, _ = st.columns([1, 1, 2])
stem = f"my-drawings-{name}"
npz_column.download_button(
    "Download .npz",
    data=lambda: my_drawings.npz_bytes(name, folder),
    file_name=f"{stem}.npz",
    mime="application/octet-stream",
    icon=":material/download:",
    key="drawings_npz",
    help="Keras layout: x_train, y_train, x_test, y_test; both halves hold every drawing.",
)
idx_column.download_button(
    "Download IDX (zip)",
    data=lambda: my_drawings.idx_zip_bytes(name, folder),
    file_name=f"{stem}-idx.zip",
    mime="application/zip",
    icon=":material/download:",
    key="drawings_idx",
    help="The four gzipped IDX files of MNIST's own format; unzipped, `--data FOLDER` reads them.",
)

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
    st.subheader(f"{names[label]} ({counts[label]})")
    for start in range(0, len(group), COLUMNS):
        for column, drawing in zip(st.columns(COLUMNS), group[start : start + COLUMNS], strict=False):
            with column:
                try:
                    widgets.digit(
                        my_drawings.read(drawing),
                        time.strftime("%d %b %H:%M", time.localtime(drawing.created)),
                        84,
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
    if counts[label] > PER_LABEL:
        st.caption(f"The newest {PER_LABEL} of {counts[label]}; the downloads hold them all.")
