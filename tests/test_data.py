"""Tests for mnist_mlp.data: sources tried in order, the bundled sample, the validation split."""

from __future__ import annotations

import socket
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_mlp import data, datafiles, datasets
from tests.conftest import save_npz, truncate, write_idx_folder

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
NO_DEBIAN = "Debian's dataset-fashion-mnist is not installed (apt install dataset-fashion-mnist)"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Offline, an empty Keras cache and no Debian folders, unless a test sets them up."""
    monkeypatch.setenv("MNIST_MLP_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv(data.DATASETS_DIR_ENV, str(tmp_path / "debian"))


# --- the dataset names, held in mnist_mlp.datasets (tests/test_datasets.py) ------------------


def test_data_hands_on_the_datasets_names():
    assert data.Dataset is datasets.Dataset and data.class_names is datasets.class_names
    assert data.DATASETS is datasets.DATASETS and data.ITEMS is datasets.ITEMS


def test_an_unknown_dataset_is_refused_before_any_source_is_tried():
    with pytest.raises(ValueError, match="expected one of mnist, fashion_mnist"):
        data.load("emnist")


# --- the bundled sample and the full Debian set -------------------------------------------


@pytest.mark.parametrize("dataset", data.DATASETS)
def test_bundled_sample(dataset):
    loaded = data.load(dataset)
    assert loaded.is_sample
    assert loaded.source.startswith("bundled sample: 5,000 real")
    assert "4,000 train / 1,000 test, not the full 70,000" in loaded.source
    assert "download off: MNIST_MLP_OFFLINE=1" in loaded.source
    assert loaded.class_names == data.class_names(dataset)
    assert (loaded.x_train.shape, loaded.x_test.shape) == ((4000, 28, 28), (1000, 28, 28))
    splits = ((loaded.x_train, loaded.y_train, 400), (loaded.x_test, loaded.y_test, 100))
    for images, labels, per_class in splits:
        assert images.dtype == labels.dtype == np.uint8
        assert np.bincount(labels, minlength=10).tolist() == [per_class] * 10
        assert np.bincount(images.ravel()).argmax() == 0  # background black...
        assert np.median(images[:, :, :3]) == 0  # ...down the left edge
        assert images.max() == 255  # and the ink white
    assert set(loaded.y_train[:40]) == set(range(10))  # shuffled, not sorted by class
    with pytest.raises(ValueError, match="read-only"):
        loaded.x_train[0, 0, 0] = 1


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason=NO_DEBIAN)
def test_debian_full_fashion_mnist(monkeypatch):
    monkeypatch.setenv(data.DATASETS_DIR_ENV, str(DEBIAN_FASHION.parent))
    datafiles._read_idx_cached.cache_clear()  # time a cold load
    started = time.perf_counter()
    loaded = data.load("fashion_mnist")
    # ~0.4 s (benchmarks.responsiveness measures it); a per-item loop would take minutes
    assert time.perf_counter() - started < 60
    assert loaded.source == f"{DEBIAN_FASHION} (Debian package dataset-fashion-mnist)"
    assert not loaded.is_sample
    assert (loaded.x_train.shape, loaded.x_test.shape) == ((60000, 28, 28), (10000, 28, 28))
    assert np.bincount(loaded.y_train).tolist() == [6000] * 10
    assert np.bincount(loaded.y_test).tolist() == [1000] * 10
    assert loaded.y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]  # as published
    assert loaded.y_test[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]


# --- the order of sources -----------------------------------------------------------------


def test_named_path_wins_over_keras_cache(tmp_path, real):
    save_npz(tmp_path / "keras_home" / "datasets" / "mnist.npz", real)
    mine = save_npz(tmp_path / "mine.npz", tuple(array[:10] for array in real))
    loaded = data.load("mnist", mine)
    assert loaded.source == f"{mine} (the path you named)"
    assert len(loaded.x_train) == len(loaded.x_test) == 10


def test_bad_named_path_is_an_error_not_a_fallback(tmp_path, real):
    save_npz(tmp_path / "keras_home" / "datasets" / "mnist.npz", real)
    with pytest.raises(datafiles.DataError, match="missing: no such file or folder"):
        data.load("mnist", tmp_path / "typo.npz")


def test_keras_cache_wins_over_sample(tmp_path, real):
    cached = save_npz(tmp_path / "keras_home" / "datasets" / "mnist.npz", real)
    loaded = data.load("mnist")
    assert loaded.source == f"Keras cache {cached}"
    assert (len(loaded.x_train), loaded.is_sample) == (50, False)


def test_keras_cache_wins_over_debian_for_fashion(tmp_path, real):
    cached = write_idx_folder(tmp_path / "keras_home" / "datasets" / "fashion-mnist", real)
    write_idx_folder(tmp_path / "debian" / "fashion-mnist", real, suffix="")
    assert data.load("fashion_mnist").source == f"Keras cache {cached}"


def test_debian_folder_used_when_no_cache(tmp_path, real):
    debian = write_idx_folder(tmp_path / "debian" / "mnist", real)
    assert data.load("mnist").source == f"{debian} (Debian datasets folder)"


def test_broken_cache_is_skipped_and_reported(tmp_path, real):
    cached = save_npz(tmp_path / "keras_home" / "datasets" / "mnist.npz", real)
    truncate(cached, 100)
    loaded = data.load("mnist")
    assert loaded.is_sample
    assert f"skipped {cached}: not a readable .npz" in loaded.source


@pytest.fixture
def online(monkeypatch):
    """The Keras download allowed, the host reachable, and a fake keras; returns its calls."""
    calls: list[str] = []
    monkeypatch.delenv("MNIST_MLP_OFFLINE")
    for proxy in ("https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: socket.socket())
    keras = types.ModuleType("keras")
    keras.datasets = types.SimpleNamespace(
        mnist=types.SimpleNamespace(load_data=lambda: calls.append("mnist")),
        fashion_mnist=types.SimpleNamespace(load_data=lambda: calls.append("fashion_mnist")),
    )
    monkeypatch.setitem(sys.modules, "keras", keras)
    return keras, calls


def test_download_used_when_online(online, real):
    keras, _ = online
    keras.datasets.mnist.load_data = lambda: ((real[0], real[1]), (real[2], real[3]))
    loaded = data.load("mnist")
    assert loaded.source.startswith("Keras download (keras.datasets.mnist, cached in ")
    assert (len(loaded.x_train), len(loaded.x_test), loaded.is_sample) == (50, 20, False)


def _no_network():
    raise Exception("URL fetch failure on https://storage.googleapis.com/: [Errno -3] DNS")


@pytest.mark.parametrize(
    ("load_data", "reason"),
    [
        (_no_network, "download failed: Exception: URL fetch failure on https://storage"),
        (lambda: ((np.zeros((2, 5)), [0, 1]), ([], [])), "download failed: DataError: "),
    ],
    ids=["no network", "bad data"],
)
def test_failed_download_falls_back_to_sample_saying_why(online, load_data, reason):
    keras, _ = online
    keras.datasets.fashion_mnist.load_data = load_data
    started = time.perf_counter()
    loaded = data.load("fashion_mnist")
    assert time.perf_counter() - started < 30  # no retries: ~0.1 s
    assert loaded.is_sample
    assert f"not the full 70,000 ({reason}" in loaded.source


@pytest.mark.parametrize(
    ("offline", "allow_download", "reason"),
    [("1", True, "download off: MNIST_MLP_OFFLINE=1"), ("", False, "allow_download=False")],
)
def test_download_not_tried_when_off(online, monkeypatch, offline, allow_download, reason):
    _, calls = online
    monkeypatch.setenv("MNIST_MLP_OFFLINE", offline)
    loaded = data.load("mnist", allow_download=allow_download)
    assert calls == []
    assert loaded.is_sample
    assert reason in loaded.source


def test_unreachable_host_skips_keras_import(online, monkeypatch):
    _, calls = online

    def unreachable(*args, **kwargs):
        raise OSError("[Errno -2] Name or service not known")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    loaded = data.load("mnist")
    assert calls == []
    assert "download skipped: no network: cannot reach storage.googleapis.com" in loaded.source


def test_hanging_network_is_given_up_quickly(online, monkeypatch):
    _, calls = online
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(10)
        raise OSError("answered too late")

    monkeypatch.setattr(socket, "create_connection", hang)
    monkeypatch.setattr(data, "PROBE_TIMEOUT_S", 0.2)
    started = time.perf_counter()
    loaded = data.load("mnist")
    release.set()
    assert time.perf_counter() - started < 8  # given up after 0.2 s, long before the hang's 10 s
    assert calls == []
    assert "cannot reach storage.googleapis.com: no answer in 0.2 s" in loaded.source


# --- split_validation ---------------------------------------------------------------------


def test_split_validation_is_stratified_and_reproducible():
    labels = np.repeat(np.arange(10, dtype=np.uint8), 50)  # (500,), 50 per class
    samples = np.arange(500)  # each sample is its own index, to see where it went
    x_train, y_train, x_val, y_val = data.split_validation(samples, labels, 0.1, seed=0)
    assert np.bincount(y_val).tolist() == [5] * 10
    assert np.bincount(y_train).tolist() == [45] * 10
    np.testing.assert_array_equal(labels[x_val], y_val)  # rows and labels stay together
    assert np.all(np.diff(x_train) > 0)  # original order kept
    again = data.split_validation(samples, labels, 0.1, seed=0)
    assert isinstance(again, datasets.Split)
    np.testing.assert_array_equal(again.x_val, x_val)
    other = data.split_validation(samples, labels, 0.1, seed=1)
    assert not np.array_equal(other.x_val, x_val)


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.integers(0, 9), min_size=1, max_size=200),
    fraction=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_validation_partitions_each_class(labels, fraction, seed):
    labels = np.array(labels, dtype=np.uint8)
    samples = np.arange(len(labels))
    x_train, y_train, x_val, y_val = data.split_validation(samples, labels, fraction, seed)
    np.testing.assert_array_equal(np.sort(np.concatenate([x_train, x_val])), samples)
    for label in np.unique(labels):
        count = int(np.sum(labels == label))
        expected = min(int(np.floor(fraction * count + 0.5)), count - 1)
        assert np.sum(y_val == label) == expected
        assert np.sum(y_train == label) >= 1  # every class still trains


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_split_validation_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="Received: fraction="):
        data.split_validation(np.zeros(10), np.zeros(10), fraction)


# --- a folder of drawings ------------------------------------------------------------------


def test_a_drawings_folder_loads_as_a_dataset_and_an_empty_one_says_so(tmp_path, digits):
    from mnist_mlp import my_drawings

    for index in range(5):
        my_drawings.save(digits.x_test[index], int(digits.y_test[index]), "mnist", tmp_path)
    mine = data.load("mnist", tmp_path)
    np.testing.assert_array_equal(mine.x_test, digits.x_test[:5])
    assert mine.y_test.tolist() == digits.y_test[:5].tolist() == mine.y_train.tolist()
    assert mine.name == "mnist" and not mine.is_sample and mine.source.startswith("my drawings: 5 in")
    with pytest.raises(datafiles.DataError, match="No clothes drawings in"):
        data.load("fashion_mnist", tmp_path)
