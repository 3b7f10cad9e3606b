"""Hostile and foreign model files are refused before anything in them runs."""

import io
import json
import zipfile

import keras
import numpy as np
import pytest

from mnist_mlp import safety
from mnist_mlp.model import MLPConfig, build_model


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.keras"
    build_model(MLPConfig(hidden_units=(8,))).save(path)
    return path.read_bytes()


def rewrite(archive_bytes: bytes, **members: bytes | None) -> bytes:
    """A copy of a .keras archive with members replaced, added, or (None) removed."""
    source = zipfile.ZipFile(io.BytesIO(archive_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in members:
                target.writestr(info, source.read(info))
        for name, content in members.items():
            if content is not None:
                target.writestr(name, content)
    return out.getvalue()


def test_a_good_model_loads(good_bytes, tmp_path):
    path = tmp_path / "ok.keras"
    path.write_bytes(good_bytes)
    model = safety.load_keras_file(path)
    assert tuple(model.output_shape) == (None, 10)


def test_lambda_that_writes_a_file_is_refused_and_writes_nothing(tmp_path):
    marker = tmp_path / "pwned.txt"
    inputs = keras.Input((28, 28))
    x = keras.layers.Flatten()(inputs)
    writes_a_file = eval(f"lambda t: t + 0 * len(open({str(marker)!r}, 'w').name)")  # no closure
    x = keras.layers.Lambda(writes_a_file)(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    path = tmp_path / "hostile.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink()  # building the model ran the lambda once; loading must not run it again
    with pytest.raises(safety.ModelFileError, match="'Lambda' is not allowed"):
        safety.load_keras_file(path)
    assert not marker.exists()


def config_of(good_bytes):
    return json.loads(zipfile.ZipFile(io.BytesIO(good_bytes)).read("config.json"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["config"]["layers"][2].update(module="evil.layers"), "outside Keras"),
        (lambda c: c["config"]["layers"][2].update(registered_name="pkg>Dense"), "custom object"),
        (lambda c: c["config"]["layers"][2]["config"].update(
            activation={"module": "builtins", "class_name": "function", "config": "exec"}),
         "can run code"),
        (lambda c: c.update(class_name="MyModel"), "expected a Functional or Sequential"),
    ],
)  # fmt: skip
def test_config_tricks_are_refused(good_bytes, tmp_path, change, message):
    config = config_of(good_bytes)
    change(config)
    path = tmp_path / "tricked.keras"
    path.write_bytes(rewrite(good_bytes, **{"config.json": json.dumps(config).encode()}))
    with pytest.raises(safety.ModelFileError, match=message):
        safety.load_keras_file(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda good: b"not a zip at all", "not a zip archive"),
        (lambda good: good[: len(good) // 2], "not a zip archive|corrupt"),
        (lambda good: rewrite(good, **{"extra.py": b"import os"}), "unexpected files"),
        (lambda good: rewrite(good, **{"model.weights.h5": None}), "lacks"),
        (lambda good: rewrite(good, **{"config.json": b"{broken"}), "corrupt"),
        (lambda good: rewrite(good, **{"config.json": b"[" * 100_000 + b"]" * 100_000}), "corrupt"),
        (lambda good: rewrite(good, **{"config.json": b'{"class_name": "Functional", "config": []}'}),
         "not a Keras model config"),
        (lambda good: rewrite(good, **{"config.json": b'{"class_name": "Sequential", "config": {"layers": 5}'
                                                      b"}"}),
         "not a Keras model config"),
    ],
)  # fmt: skip
def test_broken_archives_are_refused(good_bytes, tmp_path, make, message):
    path = tmp_path / "broken.keras"
    path.write_bytes(make(good_bytes))
    with pytest.raises(safety.ModelFileError, match=message):
        safety.load_keras_file(path)


def test_zip_bomb_is_refused_before_unpacking(good_bytes, tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        source = zipfile.ZipFile(io.BytesIO(good_bytes))
        for info in source.infolist():
            if info.filename != "model.weights.h5":
                target.writestr(info.filename, source.read(info))
        target.writestr("model.weights.h5", b"\0" * (safety.MAX_UNCOMPRESSED_BYTES + 1))
    with pytest.raises(safety.ModelFileError, match="size limit"):
        safety.load_keras_bytes(out.getvalue(), label="bomb.keras")


def test_other_formats_and_oversize_are_refused(good_bytes, tmp_path, monkeypatch):
    with pytest.raises(safety.ModelFileError, match=r"only \.keras files"):
        safety.load_keras_bytes(good_bytes, label="model.h5")
    monkeypatch.setattr(safety, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.keras"
    path.write_bytes(good_bytes)
    with pytest.raises(safety.ModelFileError, match="over the 0 MB limit"):
        safety.load_keras_file(path)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")]),
         r"inputs of shape \(None, 784\)"),
        (lambda: keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                   keras.layers.Dense(5, activation="softmax")]),
         r"outputs shape \(None, 5\)"),
        (lambda: keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)]),
         "not probabilities"),
    ],
)  # fmt: skip
def test_models_of_the_wrong_shape_are_refused(tmp_path, build, message):
    path = tmp_path / "wrong.keras"
    build().save(path)
    with pytest.raises(safety.ModelFileError, match=message):
        safety.load_keras_file(path)


def test_old_keras_is_refused(good_bytes, monkeypatch):
    monkeypatch.setattr(keras, "__version__", "3.10.0")
    with pytest.raises(safety.ModelFileError, match=r"install keras>=3\.15\.1"):
        safety.load_keras_bytes(good_bytes, label="ok.keras")
    assert np.__version__  # numpy unaffected
