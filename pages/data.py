"""Data: what the models learn from: samples with labels, the class counts, raw pixels, the source."""

import pandas as pd
import streamlit as st

from mnist_mlp import data
from ui import charts, full_data, picker, resources, through_app, widgets

through_app()
st.title("Data")
entry = picker.current_entry()
default = data.DATASETS.index(picker.dataset_name(entry.card if entry else None))
name = st.selectbox(
    "Dataset", data.DATASETS, index=default, format_func=widgets.DATASET_LABELS.get, key="data_name"
)
dataset = resources.dataset(name)

kind = "bundled sample" if dataset.is_sample else "full set"
train_count, test_count, kind_column = st.columns(3)
train_count.metric("Training images", f"{len(dataset.y_train):,}")
test_count.metric("Test images", f"{len(dataset.y_test):,}")
kind_column.metric("In use", kind)
st.caption(f"Source: {dataset.source}")
if dataset.is_sample:
    full_data.offer(name, key="data_download")

st.header("Samples")
split = st.radio("From", ["training", "test"], horizontal=True, key="data_split")
images, labels = (
    (dataset.x_train, dataset.y_train) if split == "training" else (dataset.x_test, dataset.y_test)
)
count = st.slider("How many", 10, 100, 40, 10, key="data_count")
seed = st.session_state.setdefault("data_seed", 0)
if st.button("Show others", key="data_shuffle"):
    seed = st.session_state["data_seed"] = seed + 1
widgets.sample_grid(images, labels, dataset.class_names, count, seed, f"{split} image")

st.header("Classes")
charts.class_counts(dataset)

st.header("One image, pixel by pixel")
index = st.number_input(
    f"{split.capitalize()} image number", 0, len(labels) - 1, 0, key=f"data_index_{split}"
)
image_column, pixel_column = st.columns([1, 3])
with image_column:
    widgets.digit(
        images[index],
        f"#{index}: {dataset.class_names[labels[index]]}",
        alt=f"{split.capitalize()} image #{index}: {widgets.article(dataset.class_names[labels[index]])}",
    )
with pixel_column:
    st.caption("Values 0 (black) to 255 (white ink), rows top to bottom.")
    pixels = pd.DataFrame(images[index], index=pd.RangeIndex(28, name="row"))
    pixels.columns = [f"col {column}" for column in pixels.columns]  # headers that say what they are
    st.dataframe(pixels, height=300)
