"""Hostile input through the pages, as a person would send it: each refused with its reason, nothing
run, the store unchanged; and the export a person downloads agrees with the model it came from."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import hostile
from tests.app.conftest import open_page, texts
from tests.app.test_train_page import train_tiny_model

TAKEN = (  # tiny was saved before cards said by whom: only a teacher may replace it
    r"A model named 'tiny' already exists, and only the session that saved it or a teacher may replace "
    r"it: its card does not say who saved it\. Choose another name\."
)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, hidden ones too, with its bytes."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def upload_model(at, file_name: str, data: bytes, save_as: str = "") -> list[str]:
    """Upload `data` on the Models page, press Add; the errors shown."""
    open_page(at, "models")
    at.file_uploader(key="models_upload").upload(file_name, data)
    at.text_input(key="models_upload_name").set_value(save_as)
    at.run()
    at.button(key="models_add").click().run()
    assert not at.exception
    return texts(at.error)


@pytest.fixture(scope="module")
def good_bytes(tiny_store) -> bytes:
    from mnist_mlp import store

    return (tiny_store / "tiny" / store.MODEL_FILE).read_bytes()


# ---- The Models page's upload -------------------------------------------------------------------


def test_a_model_with_a_lambda_that_writes_a_file_is_refused_and_writes_nothing(app, models_folder, tmp_path):
    marker = tmp_path / "pwned.txt"
    data = hostile.lambda_model(marker, tmp_path)
    before = snapshot(models_folder)
    errors = upload_model(app, "evil.keras", data)
    assert errors == [
        "Refused: evil.keras: layer type 'Lambda' is not allowed; an MLP needs only "
        "Activation, BatchNormalization, Dense, Dropout, Flatten, InputLayer, Rescaling, "
        "Reshape."
    ]
    assert not marker.exists()
    assert snapshot(models_folder) == before
    assert "evil" not in app.sidebar.selectbox(key="model_name").options


def test_a_zip_bomb_is_refused_before_it_is_unpacked(app, models_folder, good_bytes):
    from mnist_mlp import safety

    bomb = hostile.zip_bomb(good_bytes, safety.MAX_UNCOMPRESSED_BYTES + 1)
    assert len(bomb) < 2 * 2**20  # a small upload
    before = snapshot(models_folder)
    assert upload_model(app, "bomb.keras", bomb) == [
        "Refused: bomb.keras: the archive unpacks to more than the size limit."
    ]
    assert snapshot(models_folder) == before


def test_a_model_of_the_wrong_shape_is_refused(app, models_folder, tmp_path):
    before = snapshot(models_folder)
    errors = upload_model(app, "flat.keras", hostile.flat_input_model(tmp_path))
    assert errors == [
        "Refused: flat.keras: the model takes inputs of shape (None, 784); expected (None, 28, 28)."
    ]
    assert snapshot(models_folder) == before


@pytest.mark.parametrize(
    ("name", "reason"),
    [("../x", r"Invalid model name '\.\./x': use 1-63 letters"),
     ("a/b", r"Invalid model name 'a/b': use 1-63 letters.*no slashes"),
     ("tiny", TAKEN)],
)  # fmt: skip
def test_a_good_upload_under_a_bad_or_taken_name_is_refused(app, models_folder, good_bytes, name, reason):
    before = snapshot(models_folder)
    [error] = upload_model(app, "friend.keras", good_bytes, save_as=name)
    assert error.startswith("Refused: ") and re.search(reason, error), error
    assert snapshot(models_folder) == before
    assert not (models_folder.parent / "x").exists() and not (models_folder / "a").exists()


# ---- The Train page's save ----------------------------------------------------------------------


def test_a_trained_model_saved_under_a_bad_or_taken_name_is_refused(app, models_folder):
    train_tiny_model(app)
    before = snapshot(models_folder)
    for name, reason in [
        ("../x", r"Invalid model name '\.\./x'"),
        ("a/b", "Invalid model name 'a/b'"),
        ("tiny", TAKEN),
    ]:
        box = next(box for box in app.text_input if box.key.startswith("train_name_"))
        box.set_value(name)
        app.button(key="train_save").click().run()
        assert not app.exception
        [error] = texts(app.error)
        assert error.startswith("Not saved: ") and re.search(reason, error), error
        assert snapshot(models_folder) == before
        assert app.session_state["training"].saved_as is None
    assert not (models_folder.parent / "x").exists()


# ---- The Draw page's upload ---------------------------------------------------------------------


def upload_picture(at, file_name: str, data: bytes) -> None:
    open_page(at, "draw")
    at.radio(key="draw_source").set_value("Upload a picture").run()
    at.file_uploader(key="draw_upload").upload(file_name, data, "image/png")
    at.run()
    assert not at.exception


def test_a_decompression_bomb_picture_is_refused_without_decoding(app):
    bomb = hostile.decompression_bomb()
    assert len(bomb) < 100_000
    upload_picture(app, "bomb.png", bomb)
    [error] = texts(app.error)
    assert error.startswith("bomb.png: ") and re.search(r"too large|decompression bomb", error), error
    assert "Prediction" not in [metric.label for metric in app.metric]


def test_a_sixteen_bit_picture_reads_as_its_eight_bit_twin(app, digits):
    """16-bit PNGs (scanners make them) are scaled to 8 bits, not refused: the same prediction."""
    scan = np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8))  # (112, 112) dark on light

    def shown() -> tuple[str, str]:
        metric = next(metric for metric in app.metric if metric.label == "Prediction")
        bars = next(
            html.proto.body for html in app.get("html") if "Probability of each class" in html.proto.body
        )
        return metric.value, bars

    upload_picture(app, "scan16.png", hostile.sixteen_bit(scan))
    assert not app.error, texts(app.error)
    sixteen = shown()
    upload_picture(app, "scan8.png", hostile.encoded(Image.fromarray(scan), "PNG"))
    assert shown() == sixteen


# ---- The export a person downloads --------------------------------------------------------------


@pytest.fixture
def media(monkeypatch) -> dict[str, bytes]:
    """What the app hands the browser to download, by media URL (AppTest keeps it nowhere else)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    served: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        file_id = load(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            served[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return served


def test_the_downloaded_export_agrees_with_the_keras_model(app, models_folder, media, digits, tmp_path):
    import tensorflow as tf

    from mnist_mlp import export, store

    open_page(app, "models")
    app.selectbox(key="models_pick").select("tiny").run()
    app.button(key="models_export").click().run()
    assert not app.exception and not app.error, texts(app.error)
    [offered] = [b.proto for b in app.get("download_button") if b.proto.label == "Download export (.zip)"]
    payload = media[offered.url.rsplit("/", 1)[1].split(".")[0]]
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        archive.extractall(tmp_path)
    unpacked = tmp_path / "tiny"

    images = digits.x_test[:300]  # (300, 28, 28) uint8, real digits as the export takes them
    network = store.load("tiny", models_folder).model
    expected = network(tf.constant(images, tf.float32) / 255.0, training=False).numpy()  # (300, 10)
    assert np.mean(expected.argmax(axis=1) == digits.y_test[:300]) > 0.8  # a real model, not chance

    serve = tf.saved_model.load(str(unpacked / "saved_model")).signatures["serving_default"]
    saved = serve(images=tf.constant(images))
    np.testing.assert_array_equal(saved["classes"].numpy(), expected.argmax(axis=1))
    np.testing.assert_allclose(saved["probabilities"].numpy(), expected, atol=1e-5, rtol=0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's "moving to ai_edge_litert" notice
        lite = export.run_tflite(unpacked / "model.tflite", images)
    np.testing.assert_array_equal(lite["classes"], expected.argmax(axis=1))
    np.testing.assert_allclose(lite["probabilities"], expected, atol=1e-4, rtol=0)
