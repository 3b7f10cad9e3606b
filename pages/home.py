"""Home: what the app does, the current model's card, and which data is in use."""

import streamlit as st

from ui import full_data, picker, resources, through_app, widgets

through_app()
st.title("Handwriting, read by a multi-layer perceptron")
st.write(
    "This app trains small neural networks (multi-layer perceptrons) to read handwritten digits "
    "or pictures of clothes, 28x28 pixels at a time. Draw a digit and watch the model read it, "
    "see where it fails, look inside at what its neurons learned, and train your own."
)

entry = picker.current_entry()
if entry is None:
    picker.no_model()
else:
    widgets.model_card(entry.card)

name = picker.dataset_name(entry.card if entry else None)
dataset = resources.dataset(name)
st.header("Data")
kind = "the bundled sample" if dataset.is_sample else "the full set"
st.write(
    f"{widgets.DATASET_LABELS[name]}: {kind}, {len(dataset.y_train):,} training and "
    f"{len(dataset.y_test):,} test images."
)
st.caption(f"Source: {dataset.source}")
if dataset.is_sample:
    full_data.offer(name, key="home_full_data")

st.header("Where to go")
links = st.columns(3)
links[0].page_link("pages/draw.py", label="Draw a digit", icon=":material/draw:")
links[1].page_link("pages/misclassifications.py", label="See its mistakes", icon=":material/error:")
links[2].page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
