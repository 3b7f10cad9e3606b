"""The Draw page: a hint for an empty canvas, predictions for an uploaded picture, errors for bad files."""

import io

import numpy as np
from PIL import Image

from tests.app.conftest import open_page, texts


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_empty_canvas_shows_a_hint_not_a_prediction(app):
    open_page(app, "draw")
    assert any(info.startswith("Draw a digit") for info in texts(app.info))
    assert "Prediction" not in [metric.label for metric in app.metric]
    app.button[0].click().run()  # Clear: the canvas gets a new key
    assert app.session_state["canvas_generation"] == 1
    assert not app.exception


def test_an_uploaded_digit_is_read_as_the_model_reads_it(app, trained, digits):
    from mnist_mlp import drawing, images, model

    picture = np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8))  # a 112x112 dark-on-light scan
    expected = model.predict(trained.model, drawing.to_mnist(images.read_image(png(picture)))[None])[0]
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("digit.png", png(picture), "image/png")
    app.run()
    assert not app.exception and not app.error
    prediction = next(metric for metric in app.metric if metric.label == "Prediction")
    assert prediction.value == str(int(expected.argmax()))
    app.toggle(key="draw_steps").set_value(True).run()
    assert not app.exception


def test_an_unreadable_picture_is_refused_with_a_message(app):
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("digit.png", b"not really a png", "image/png")
    app.run()
    assert not app.exception
    assert any("digit.png: not a readable image" in error for error in texts(app.error))


def test_a_blank_picture_gets_the_hint(app):
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    blank = png(np.full((50, 50), 255, np.uint8))
    app.file_uploader(key="draw_upload").upload("blank.png", blank, "image/png")
    app.run()
    assert any(info.startswith("Upload a picture") for info in texts(app.info))
