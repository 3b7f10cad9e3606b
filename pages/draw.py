"""Draw: write a digit (or upload a picture) and see what the model reads, with its probabilities."""

import streamlit as st

from ui import charts, collection, explanations, inputs, picker, probing, through_app, widgets

through_app()
st.title("Draw")
collection.from_link()  # /draw?collection=lesson-3: a lesson's link saves to its collection
loaded = picker.current_model()
if loaded is None:
    st.stop()
names = picker.class_names(loaded.card)

source = inputs.source()
left, right = st.columns([1, 1], gap="large")
with left:
    image = inputs.image_input(source)

with right:
    steps = inputs.prepared(image)
    if steps is None:
        inputs.hint(source, picker.dataset_name(loaded.card))
    else:
        probabilities = picker.predict(loaded, steps.centred)
        best = int(probabilities.argmax())
        st.metric("Prediction", names[best], help=f"{probabilities[best]:.1%} sure")
        explanations.unsure_warning(loaded, steps.centred)
        explained = explanations.explanation(loaded, steps.centred)  # for Why and the neighbours
        charts.probability_chart(probabilities, names)
        widgets.digit(
            steps.centred,
            "What the model sees: 28x28 pixels",
            alt="The input as the model sees it, 28x28 pixels",
        )

if steps is not None:  # My drawings: keep this one, with its true label, as data of your own
    with right:
        collection.save_drawing_form(steps.centred, best, names, picker.dataset_name(loaded.card))

if steps is not None and st.toggle("Show the steps from drawing to input", key="draw_steps"):
    inputs.steps_view(steps)

probe_help = "Shift, turn, resize or thicken what the model sees, or skip a preparation step."
if steps is not None and st.toggle("Probe the drawing", key="probe_open", help=probe_help):
    probing.probe_section(loaded, names, image, steps.centred)

explainable = steps is not None and explained is not None
if explainable and st.toggle(
    "Why this prediction?", key="draw_why", help="Pixels and hidden units behind it"
):
    st.header(f"Why {names[explained.target]}?")
    explanations.why(loaded, steps.centred, explained, names)
if explainable and st.toggle(
    "Nearest training images", key="draw_neighbours", help="What it is compared with"
):
    st.header("Nearest neighbours")
    explanations.neighbours(loaded, explanations.nearest(loaded, steps.centred, explained), names)
