"""Model cards: what a trained or uploaded model is, what it learned from and how it scored.

`make_card` for a model trained here (app or command line), `upload_card` for a file someone brought.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mnist_mlp import model, store

if TYPE_CHECKING:
    import keras

    from mnist_mlp import train
    from mnist_mlp.data import Dataset
    from mnist_mlp.evaluate import Evaluation


def make_card(
    name: str,
    result: train.TrainResult,
    dataset: Dataset,
    samples: dict[str, int],
    test: Evaluation | None,
    notes: str = "",
    command: str = "",
) -> store.Card:
    """The card for a model trained in the app or from the command line.

    Args:
        samples: image counts, e.g. {"train": 3600, "validation": 400, "test": 1000}.
        test: the model's results on `dataset`'s test set, or None when not evaluated.
        command: the command line that reproduces the model, when it came from one.
    """
    figures = test.to_dict() if test is not None else {}
    return store.Card(
        name=name, config=result.config, dataset=dataset.name, data_source=dataset.source,
        class_names=list(dataset.class_names), samples=dict(samples),
        test_accuracy=figures.get("accuracy"), test_loss=figures.get("loss"),
        per_class_accuracy=figures.get("per_class_accuracy", []),
        training_seconds=result.seconds, history=list(result.history), versions=store.versions(),
        notes=notes, command=command,
    )  # fmt: skip


def config_of(network: keras.Model) -> model.MLPConfig:
    """The MLPConfig that describes a loaded Keras MLP's layers (training settings are unknown)."""
    dense = [layer for layer in network.layers if hasattr(layer, "kernel")]
    hidden = dense[:-1]
    activation = "relu"
    if hidden:
        name = getattr(hidden[0].activation, "__name__", "relu")
        activation = name if name in model.ACTIVATIONS else "relu"
    rates = [float(layer.rate) for layer in network.layers if hasattr(layer, "rate")]
    return model.MLPConfig(
        hidden_units=tuple(int(layer.units) for layer in hidden),
        activation=activation,
        dropout_rate=rates[0] if rates and 0 <= rates[0] < 1 else 0.0,
    )


def upload_card(
    name: str, network: keras.Model, dataset: Dataset, filename: str, test: Evaluation | None
) -> store.Card:
    """The card for a model someone uploaded: its layers, its test results here, where it came from."""
    figures = test.to_dict() if test is not None else {}
    return store.Card(
        name=name, config=config_of(network), dataset=dataset.name,
        data_source=f"unknown: uploaded as {filename}; evaluated on {dataset.source}",
        class_names=list(dataset.class_names), samples={"test": len(dataset.y_test)},
        test_accuracy=figures.get("accuracy"), test_loss=figures.get("loss"),
        per_class_accuracy=figures.get("per_class_accuracy", []), versions=store.versions(),
        notes=f"Uploaded from {filename}; how it was trained is unknown.",
    )  # fmt: skip
