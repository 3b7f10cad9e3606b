"""Draw: write a digit (or upload a picture) and see what the model reads, with its probabilities."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnist_mlp import images, preprocess, probe
from ui import charts, collection, explanations, picker, probing, through_app, widgets

IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp"]
CANVAS_SIZE = 280  # pixels; ten canvas pixels per model pixel

through_app()
st.title("Draw")
loaded = picker.current_model()
if loaded is None:
    st.stop()
names = picker.class_names(loaded.card)

source = st.radio(
    "Input", ["Draw", "Upload a picture"], horizontal=True, key="draw_source", label_visibility="collapsed"
)
left, right = st.columns([1, 1], gap="large")
image = None
with left:
    if source == "Draw":
        brush = st.slider("Brush size", 6, 40, 20, key="draw_brush")
        canvas = st_canvas(
            stroke_width=brush,
            stroke_color="#FFFFFF",
            background_color="#000000",
            width=CANVAS_SIZE,
            height=CANVAS_SIZE,
            drawing_mode="freedraw",
            update_streamlit=True,
            return_image_data=True,
            key=widgets.canvas_key(),
        )
        st.button("Clear", on_click=widgets.clear_canvas, icon=":material/delete:")
        widgets.guard_canvas_toolbar()  # so that a touch on the canvas's corner draws, not resets
        image = canvas.image_data
    else:
        upload = st.file_uploader(
            "A picture of one digit or garment",
            type=IMAGE_TYPES,
            max_upload_size=images.MAX_IMAGE_BYTES // 2**20,
            key="draw_upload",
        )
        if upload is not None:
            try:
                image = images.read_image(upload.getvalue(), label=upload.name)
            except images.ImageError as err:
                st.error(str(err))

with right:
    try:
        steps = preprocess.prepare(image) if image is not None else None
    except ValueError as err:  # an image preprocess.prepare cannot read as one digit
        st.error(f"Cannot use this picture: {err}")
        steps = None
    if steps is None:
        thing = "a digit" if picker.dataset_name(loaded.card) == "mnist" else "a piece of clothing"
        hint = f"Draw {thing} on the black square" if source == "Draw" else "Upload a picture"
        st.info(f"{hint}, and the prediction appears here.")
    else:
        probabilities = picker.predict(loaded, steps.centred)
        best = int(probabilities.argmax())
        st.metric("Prediction", names[best], help=f"{probabilities[best]:.1%} sure")
        explanations.unsure_warning(loaded, steps.centred)
        explained = explanations.explanation(loaded, steps.centred)  # for Why and the neighbours
        charts.probability_chart(probabilities, names)
        widgets.digit(steps.centred, "What the model sees: 28x28 pixels")

if steps is not None:  # My drawings: keep this one, with its true label, as data of your own
    with right:
        collection.save_drawing_form(steps.centred, best, names, picker.dataset_name(loaded.card))

if steps is not None and st.toggle("Show the steps from drawing to input", key="draw_steps"):
    columns = st.columns(3)
    with columns[0]:
        widgets.digit(steps.ink, "1. The ink", size=140)
    with columns[1]:
        widgets.digit(steps.scaled, "2. Cropped, scaled to 20 px, strokes to MNIST's width", size=140)
    with columns[2]:
        widgets.digit(steps.centred, "3. Centred by mass in 28x28: the input", size=140)

probe_help = "Shift, turn, resize or thicken what the model sees, or skip a preparation step."
if steps is not None and st.toggle("Probe the drawing", key="probe_open", help=probe_help):
    settings = probing.probe_controls()
    prepared = preprocess.prepare(image, **settings.steps)  # the same image prepare() just read
    if prepared is None:
        st.warning("Without these steps nothing of the drawing is left in the 28x28 field.")
    else:
        probed = probe.apply(prepared.centred, settings.transform)
        if probed.max() < preprocess.MIN_CONTRAST:  # so faint that a canvas would count it as empty
            st.warning("Hardly any ink is left in the probed input: the model reads what remains.")
        probing.probe_comparison(loaded, names, steps.centred, probed)

explainable = steps is not None and explained is not None
if explainable and st.toggle(
    "Why this prediction?", key="draw_why", help="Pixels and hidden units behind it"
):
    st.subheader(f"Why {names[explained.target]}?")
    explanations.why(loaded, steps.centred, explained, names)
if explainable and st.toggle(
    "Nearest training images", key="draw_neighbours", help="What it is compared with"
):
    st.subheader("Nearest neighbours")
    explanations.neighbours(loaded, explanations.nearest(loaded, steps.centred, explained), names)
