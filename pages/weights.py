"""Weights: what each first-layer neuron looks for, as 28x28 images, and how they formed in training."""

import streamlit as st

from mnist_mlp import compare, model
from ui import links, picker, through_app, training, widgets

SAVED, SESSION = "The picked model", "The model trained in this session"

through_app()
st.title("First-layer weights")
st.write(
    "Each tile is one neuron of the first layer: the weight it gives to each of the 784 pixels. "
    "Early in training they are noise; they become strokes and blobs that fire on parts of digits."
)
session = training.current()
trained_here = session is not None and session.job.result is not None and session.job.done
source = st.radio(
    "Show", [SAVED, SESSION] if trained_here else [SAVED], horizontal=True, key="weights_source"
)
if source == SESSION:
    keras_model, snapshots = session.job.result.model, session.job.result.snapshots
else:
    loaded = picker.current_model()
    if loaded is None:
        st.stop()
    keras_model, snapshots = loaded.model, loaded.snapshots

weights = model.first_layer_weights(keras_model)  # (units, 28, 28)
units = len(weights)
controls = st.columns(3)
links.url_bound("scale", "weights_scale", ["per unit", "shared"], "per unit")
links.url_bound("columns", "weights_columns", links.int_in(4, 16), 8)
scale = controls[0].radio(
    "Colour scale",
    ["per unit", "shared"],
    horizontal=True,
    key="weights_scale",
    help="Per unit shows each neuron's pattern; shared compares their strength",
)
count = (
    controls[1].slider("Units", 1, min(units, 256), min(units, 64), key="weights_count") if units > 1 else 1
)
columns = controls[2].slider("Tiles per row", 4, 16, 8, key="weights_columns")
linear = compare.is_linear(keras_model)
if linear:
    st.caption("This model has no hidden layer: the tiles are the ten class templates, 0 to 9.")

what = "class template" if linear else "unit"
st.header(f"After training: {count} of {units} {what}s")
widgets.weight_grid(weights[:count], shared_scale=scale == "shared", columns=columns, what=what)

if snapshots:
    st.header("How they formed")
    steps = sorted(snapshots)
    step = st.select_slider(
        "Optimizer step", steps, value=steps[0], key="weights_step", format_func=lambda s: f"{s:,}"
    )
    shown = snapshots[step][:count]
    st.caption(f"Step {step:,}: {len(shown)} units (snapshots keep the first {len(snapshots[step])}).")
    widgets.weight_grid(shown, shared_scale=scale == "shared", columns=columns, what=what)
else:
    st.caption("This model was saved without training snapshots, so there is nothing to replay.")
