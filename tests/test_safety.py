"""Hostile and foreign model files are refused before anything in them runs."""

import io
import itertools
import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from mnist_mlp import safety
from mnist_mlp.model import ACTIVATIONS, OPTIMIZERS, MLPConfig, build_model
from tests import hostile
from tests.hostile import rewrite


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.keras"
    build_model(MLPConfig(hidden_units=(8,))).save(path)
    return path.read_bytes()


def test_a_good_model_loads(good_bytes, tmp_path):
    path = tmp_path / "ok.keras"
    path.write_bytes(good_bytes)
    model = safety.load_keras_file(path)
    assert tuple(model.output_shape) == (None, 10)


def test_lambda_that_writes_a_file_is_refused_and_writes_nothing(tmp_path):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "hostile.keras"
    path.write_bytes(hostile.lambda_model(marker, tmp_path))
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
    bomb = hostile.zip_bomb(good_bytes, safety.MAX_UNCOMPRESSED_BYTES + 1)
    with pytest.raises(safety.ModelFileError, match="size limit"):
        safety.load_keras_bytes(bomb, label="bomb.keras")


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


# ---- The allow-list of nested classes: every model of ours passes it, anything else is refused -------

SHIPPED_MODELS = sorted(Path(__file__).resolve().parents[1].glob("saved_models/*/model.keras"))
LEARNING_RATES = ("constant", "constant schedule", "cosine", "cosine restarted")  # what train.py compiles


def compiled(config: MLPConfig, rate: str) -> keras.Model:
    """A model as train.py compiles it: new (`train.new_result`) or continued with new settings."""
    from mnist_mlp import model, train

    if rate in ("constant", "cosine"):
        decay = "none" if rate == "constant" else "cosine"
        return train.new_result(config.replace(learning_rate_decay=decay), 10).model
    network = build_model(config)
    if rate == "constant schedule":  # a continued model whose optimizer was built on a schedule
        optimizer = type(model.make_optimizer(config))(model.learning_rate(config, as_schedule=True))
    else:  # a continued cosine run: its warm restart at step 5
        optimizer = model.make_optimizer(config.replace(learning_rate_decay="cosine"), 10, start_step=5)
    network.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return network


@pytest.mark.parametrize("path", SHIPPED_MODELS, ids=[path.parent.name for path in SHIPPED_MODELS])
def test_every_shipped_model_passes_the_checks_and_loads(path):
    assert SHIPPED_MODELS, "saved_models/ holds no model.keras"
    safety.check_keras_file(path)
    model = safety.load_keras_file(path)
    assert tuple(model.output_shape) == (None, 10)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_config_our_builder_and_trainer_make_passes_the_allow_list(optimizer):
    """Each activation, L2 and dropout on and off, each learning rate, compiled as train.py does."""
    seen = set()
    for activation, (l2, dropout_rate), rate in itertools.product(
        ACTIVATIONS, ((0.0, 0.0), (0.01, 0.3)), LEARNING_RATES
    ):
        config = MLPConfig(
            hidden_units=(8, 4), activation=activation, optimizer=optimizer, l2=l2, dropout_rate=dropout_rate
        )
        serialized = keras.saving.serialize_keras_object(compiled(config, rate))  # what config.json holds
        safety.check_config(json.loads(json.dumps(serialized)), label=f"{config} {rate}")
        seen |= {node["class_name"] for node in safety._walk(serialized) if "class_name" in node}
    # the walk met every kind of nested object a model of ours holds
    assert {"GlorotUniform", "Zeros", "L2", "DTypePolicy", "CosineDecay", "CosineDecayRestarts",
            "ExponentialDecay", "Dropout"} <= seen  # fmt: skip


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_saved_model_with_each_optimizer_loads(optimizer, tmp_path):
    config = MLPConfig(hidden_units=(8,), optimizer=optimizer, l2=0.01, learning_rate_decay="cosine")
    path = tmp_path / "ours.keras"
    network = compiled(config, "cosine")
    network.optimizer.build(network.trainable_variables)  # saved with its slots, as after training
    network.save(path)
    assert tuple(safety.load_keras_file(path).output_shape) == (None, 10)


def nested(value: dict):
    return {
        "module": value.get("module", "keras.initializers"),
        "config": {},
        "registered_name": None,
        **value,
    }


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        (lambda c: c["config"]["layers"][2]["config"].update(
            kernel_initializer=nested({"class_name": "Identity"})), "Identity"),
        (lambda c: c["config"]["layers"][2]["config"].update(
            kernel_regularizer=nested({"module": "keras.layers", "class_name": "Dense"})), "Dense"),
        (lambda c: c["config"]["layers"][2]["config"].update(
            kernel_constraint=nested({"module": "keras.constraints", "class_name": "MaxNorm"})), "MaxNorm"),
        (lambda c: c.update(compile_config={"optimizer": nested(
            {"module": "keras.optimizers", "class_name": "Lion"})}), "Lion"),
        (lambda c: c["config"]["layers"][2]["config"].update(
            dtype=nested({"module": "keras", "class_name": "DTypePolicyMap"})), "DTypePolicyMap"),
    ],
    ids=["initializer", "layer-in-a-layer", "constraint", "optimizer", "dtype-policy"],
)  # fmt: skip
def test_a_nested_class_outside_the_allow_list_is_refused(good_bytes, tmp_path, change, refused):
    config = config_of(good_bytes)
    assert config["config"]["layers"][2]["class_name"] == "Dense"
    change(config)
    path = tmp_path / "nested.keras"
    path.write_bytes(rewrite(good_bytes, **{"config.json": json.dumps(config).encode()}))
    with pytest.raises(safety.ModelFileError, match=f"holds a '{refused}' object.*refused"):
        safety.load_keras_file(path)
    safety.check_config(config_of(good_bytes))  # the unchanged config passes
