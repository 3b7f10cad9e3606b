"""The Draw page's input: the canvas or an uploaded picture, prepared as MNIST, and the steps between."""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnist_mlp import images, preprocess
from ui import widgets

IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp"]
CANVAS_SIZE = 280  # pixels; ten canvas pixels per model pixel


def source() -> str:
    """ "Draw" or "Upload a picture"."""
    return st.radio(
        "Input",
        ["Draw", "Upload a picture"],
        horizontal=True,
        key="draw_source",
        label_visibility="collapsed",
    )


def image_input(source: str) -> np.ndarray | None:
    """The canvas (with its brush and Clear) or the picture uploader; the image, None while there is none."""
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
        return canvas.image_data
    upload = st.file_uploader(
        "A picture of one digit or garment",
        type=IMAGE_TYPES,
        max_upload_size=images.MAX_IMAGE_BYTES // 2**20,
        key="draw_upload",
    )
    if upload is not None:
        try:
            return images.read_image(upload.getvalue(), label=upload.name)
        except images.ImageError as err:
            st.error(str(err))
    return None


def prepared(image: np.ndarray | None) -> preprocess.DrawingSteps | None:
    """The image prepared as MNIST; None (with the reason shown) when it cannot be read as one."""
    try:
        return preprocess.prepare(image) if image is not None else None
    except ValueError as err:  # an image preprocess.prepare cannot read as one digit
        st.error(f"Cannot use this picture: {err}")
        return None


def hint(source: str, dataset_name: str) -> None:
    """What to do while there is nothing to read."""
    thing = "a digit" if dataset_name == "mnist" else "a piece of clothing"
    action = f"Draw {thing} on the black square" if source == "Draw" else "Upload a picture"
    st.info(f"{action}, and the prediction appears here.")


def steps_view(steps: preprocess.DrawingSteps) -> None:
    """The three steps from drawing to the model's input, side by side."""
    columns = st.columns(3)
    with columns[0]:
        widgets.digit(steps.ink, "1. The ink", size=140)
    with columns[1]:
        widgets.digit(steps.scaled, "2. Cropped, scaled to 20 px, strokes to MNIST's width", size=140)
    with columns[2]:
        widgets.digit(steps.centred, "3. Centred by mass in 28x28: the input", size=140)
