"""Home: what the app does, the current model's card, and which data is in use."""

import streamlit as st

import ui

st.title("Handwriting, read by a multi-layer perceptron")
st.write(
    "This app trains small neural networks (multi-layer perceptrons) to read handwritten digits "
    "or pictures of clothes, 28x28 pixels at a time. Draw a digit and watch the model read it, "
    "see where it fails, look inside at what its neurons learned, and train your own."
)

entry = ui.current_entry()
if entry is None:
    ui.no_model()
else:
    ui.model_card(entry.card)

name = ui.dataset_name(entry.card if entry else None)
dataset = ui.dataset(name)
st.subheader("Data")
kind = "the bundled sample" if dataset.is_sample else "the full set"
st.write(
    f"{ui.DATASET_LABELS[name]}: {kind}, {len(dataset.y_train):,} training and "
    f"{len(dataset.y_test):,} test images."
)
st.caption(f"Source: {dataset.source}")
if dataset.is_sample:
    st.info(ui.full_data_help(name))

st.subheader("Where to go")
links = st.columns(3)
links[0].page_link("pages/draw.py", label="Draw a digit", icon=":material/draw:")
links[1].page_link("pages/misclassifications.py", label="See its mistakes", icon=":material/error:")
links[2].page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
