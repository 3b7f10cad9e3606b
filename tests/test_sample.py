"""The bundled samples: which split of the full datasets each part comes from, and
scripts/make_sample.py rebuilding them from the full sets; MNIST's checks need the full MNIST."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mnist_mlp import data, datafiles
from scripts import make_sample
from tests.conftest import machine_fetched_mnist, write_idx_folder

MNIST_SAMPLE = data.SAMPLE_DIR / data.SAMPLE_FILES["mnist"]
FASHION_SAMPLE = data.SAMPLE_DIR / data.SAMPLE_FILES["fashion_mnist"]
DEBIAN_FASHION = data.DEBIAN_DATASETS_DIR / "fashion-mnist"
NO_DEBIAN = "Debian's dataset-fashion-mnist is not installed (apt install dataset-fashion-mnist)"


def _index_by_bytes(images: np.ndarray) -> dict[bytes, int]:
    """Each (28, 28) image's raw bytes mapped to its row, so lookups are exact and fast."""
    return {image.tobytes(): row for row, image in enumerate(images)}


@pytest.mark.full_mnist
def test_the_mnist_sample_trains_on_mnist_training_digits_and_tests_on_its_test_digits(full_mnist):
    full = full_mnist
    x_train, y_train, x_test, y_test = datafiles.read_npz(MNIST_SAMPLE)
    training, test = _index_by_bytes(full.x_train), _index_by_bytes(full.x_test)
    for images, labels, source, source_labels, name in (
        (x_test, y_test, test, full.y_test, "test"),
        (x_train, y_train, training, full.y_train, "training"),
    ):
        rows = [source.get(image.tobytes()) for image in images]
        missing = [index for index, row in enumerate(rows) if row is None]
        assert not missing, f"sample {name} images {missing[:10]} are not MNIST {name} images"
        assert len(set(rows)) == len(rows)  # each a different MNIST digit
        np.testing.assert_array_equal(source_labels[rows], labels)  # with MNIST's own label
    # So a model trained on the full MNIST's training set never saw any of the sample's test digits.
    assert not [index for index, image in enumerate(x_test) if image.tobytes() in training]


@pytest.mark.full_mnist
def test_make_sample_regenerates_mnist_sample(tmp_path, full_mnist):
    path = tmp_path / "mnist_sample.npz"
    make_sample.write_npz(path, make_sample.mnist_sample(machine_fetched_mnist()))
    for array, expected in zip(datafiles.read_npz(path), datafiles.read_npz(MNIST_SAMPLE), strict=True):
        np.testing.assert_array_equal(array, expected)


def test_make_sample_refuses_files_that_are_not_mnists_and_writes_nothing(
    tmp_path, real, monkeypatch, capsys
):
    impostor = write_idx_folder(tmp_path / "not-mnist", real, suffix="", sep=".")  # real digits, too few
    with pytest.raises(datafiles.DataError, match=r"train-images\.idx3-ubyte: checksum mismatch"):
        make_sample.check_mnist_files(impostor)
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["make_sample", "--mnist-dir", str(impostor), "--out", str(out)])
    with pytest.raises(SystemExit) as exit_info:
        make_sample.main()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "train-images.idx3-ubyte: checksum mismatch: SHA-256 " in error and "fetch mnist" in error
    assert not out.exists()


def test_make_sample_says_which_mnist_file_is_missing(tmp_path):
    with pytest.raises(datafiles.DataError, match=r"train-images\.idx3-ubyte: missing: no such file"):
        make_sample.check_mnist_files(tmp_path)


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason=NO_DEBIAN)
def test_make_sample_regenerates_fashion_sample():
    bundled = datafiles.read_npz(FASHION_SAMPLE)
    for array, expected in zip(make_sample.fashion_sample(DEBIAN_FASHION), bundled, strict=True):
        np.testing.assert_array_equal(array, expected)
