"""My drawings: the drawings saved on the Draw page, by label; delete, download, choose the collection."""

import streamlit as st

from mnist_mlp import data, my_drawings
from ui import collection, drawings_view, picker, through_app, widgets

through_app()
st.title("My drawings")
collection.from_link()
drawings_view.collection_box()
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

counts = drawings_view.counts_and_downloads(listed, names, name, folder)
drawings_view.by_label(listed, names, counts)
