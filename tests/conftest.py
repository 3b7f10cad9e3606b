"""Shared fixtures: small real data, a temporary model store, and a quiet TensorFlow."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["MNIST_MLP_OFFLINE"] = "1"  # the internet is the one thing tests never reach

import pytest


@pytest.fixture(scope="session")
def digits():
    """The bundled sample of real MNIST digits (4,000 train / 1,000 test)."""
    from mnist_mlp import data

    return data.load("mnist", allow_download=False)


@pytest.fixture(scope="session")
def small_split(digits):
    """(x_train, y_train, x_val, y_val): real digits, 1,000 to train on and 400 to validate."""
    from mnist_mlp import data

    x_train, y_train, x_val, y_val = data.split_validation(digits.x_train, digits.y_train, 0.1, seed=0)
    return x_train[:1000], y_train[:1000], x_val[:400], y_val[:400]


@pytest.fixture
def model_store(tmp_path, monkeypatch):
    """An empty model store, also set as the default through the environment."""
    folder = tmp_path / "models"
    monkeypatch.setenv("MNIST_MLP_MODELS", str(folder))
    return folder


@pytest.fixture(scope="session")
def trained(small_split):
    """A small MLP trained for two epochs on real digits, shared by tests that only read it."""
    from mnist_mlp import model, train

    config = model.MLPConfig(hidden_units=(64,), dropout_rate=0.0, epochs=2, batch_size=32, seed=1)
    return train.train(config, *small_split)
