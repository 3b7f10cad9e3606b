"""Tests for mnist_mlp.datafiles: real IDX and .npz files on disk, every fault named, no unpickling."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp import data, datafiles
from tests.conftest import save_npz, truncate, write_idx_folder


def raises_data_error(path: Path, fault: str, read=datafiles.read_idx) -> str:
    """Read `path`, expect one DataError whose one-line message names the file and the fault."""
    with pytest.raises(datafiles.DataError) as caught:
        read(path)
    message = str(caught.value)
    assert str(path) in message
    assert fault in message
    assert "\n" not in message
    return message


# --- IDX ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("index", [0, 1], ids=["images", "labels"])
def test_idx_round_trip(tmp_path, real, suffix, index):
    path = tmp_path / f"array{suffix}"
    datafiles.write_idx(path, real[index])
    loaded = datafiles.read_idx(path)
    np.testing.assert_array_equal(loaded, real[index])
    assert loaded.dtype == np.uint8
    assert not loaded.flags.writeable
    content = gzip.decompress(path.read_bytes()) if suffix else path.read_bytes()
    magic = b"\x00\x00\x08\x03" if index == 0 else b"\x00\x00\x08\x01"
    assert content.startswith(magic + (50).to_bytes(4, "big"))
    assert len(content) == (16 + 50 * 784 if index == 0 else 8 + 50)


def test_gzip_is_recognised_by_content_not_name(tmp_path, real):
    datafiles.write_idx(tmp_path / "labels.gz", real[1])
    (tmp_path / "labels.gz").rename(tmp_path / "labels")
    np.testing.assert_array_equal(datafiles.read_idx(tmp_path / "labels"), real[1])


def test_write_idx_rejects_non_uint8(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        datafiles.write_idx(tmp_path / "x", np.zeros((2, 28, 28), dtype=np.float32))


def _gzip_of_truncated(path: Path) -> None:
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:1000]))


def _flip(path: Path, start: int, count: int = 1) -> None:
    content = bytearray(path.read_bytes())
    for offset in range(start, start + count):
        content[offset] ^= 0xFF
    path.write_bytes(bytes(content))


IDX_FAULTS = {  # name: (file suffix, spoil the written file, the fault the message names)
    "missing": ("", lambda path: path.unlink(), "missing: no such file."),
    "empty": ("", lambda path: truncate(path, 0), "truncated: 0 bytes"),
    "short read": (
        "",
        lambda path: truncate(path, 1000),
        "truncated: header says 50 images of 28x28 (39200 bytes) but the file holds 984 "
        "bytes after the 16-byte header.",
    ),
    "short read inside gzip": (
        ".gz",
        _gzip_of_truncated,
        "truncated: header says 50 images of 28x28 (39200 bytes) but the file holds 984",
    ),
    "truncated gzip": (".gz", lambda path: truncate(path, 2000), "truncated gzip"),
    "corrupt gzip data": (".gz", lambda path: _flip(path, 1000, 20), "corrupt gzip"),
    "gzip crc": (".gz", lambda path: _flip(path, len(path.read_bytes()) - 8), "CRC check failed"),
    "wrong magic": ("", lambda path: _flip(path, 2), "wrong magic number 0x0000f703"),
    "trailing data": ("", lambda path: path.write_bytes(path.read_bytes() + b"\0"), "trailing"),
}


@pytest.mark.parametrize("name", IDX_FAULTS)
def test_idx_fault_is_named(tmp_path, real, name):
    suffix, spoil, fault = IDX_FAULTS[name]
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    datafiles.write_idx(path, real[0])
    spoil(path)
    raises_data_error(path, fault)


def test_idx_wrong_image_shape(tmp_path):
    path = tmp_path / "images.gz"
    datafiles.write_idx(path, np.zeros((3, 32, 32), dtype=np.uint8))
    raises_data_error(path, "wrong shape: images are 32x32, expected 28x28.")


def test_idx_labels_out_of_range(tmp_path):
    path = tmp_path / "labels"
    datafiles.write_idx(path, np.array([0, 9, 10], dtype=np.uint8))
    raises_data_error(path, "labels out of range: found 0..10, expected 0..9.")


def test_corrupt_file_keeps_the_cause(tmp_path, real):
    path = tmp_path / "labels.gz"
    datafiles.write_idx(path, real[1])
    truncate(path, 20)
    with pytest.raises(datafiles.DataError) as caught:
        datafiles.read_idx(path)
    assert isinstance(caught.value.__cause__, EOFError)


@pytest.mark.parametrize(("suffix", "sep"), [(".gz", "-"), ("", "."), (".gz", ".")])
def test_idx_folder_loads_both_spellings_gzipped_or_raw(tmp_path, real, suffix, sep):
    folder = write_idx_folder(tmp_path / "idx", real, suffix, sep)
    loaded = data.load("mnist", folder)
    assert loaded.source == f"{folder} (the path you named)"
    for array, expected in zip(
        (loaded.x_train, loaded.y_train, loaded.x_test, loaded.y_test), real, strict=True
    ):
        np.testing.assert_array_equal(array, expected)
    assert not loaded.is_sample


def test_idx_folder_counts_differ_names_both_files(tmp_path, real):
    folder = write_idx_folder(tmp_path / "idx", real)
    datafiles.write_idx(folder / "train-labels-idx1-ubyte.gz", real[1][:49])
    message = raises_data_error(
        folder / "train-images-idx3-ubyte.gz",
        "counts differ: 50 images but",
        read=lambda _: data.load("mnist", folder),
    )
    assert str(folder / "train-labels-idx1-ubyte.gz") + " holds 49 labels." in message


def test_idx_folder_missing_file(tmp_path, real):
    folder = write_idx_folder(tmp_path / "idx", real)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    raises_data_error(folder, "missing t10k-labels-idx1-ubyte.gz", read=lambda _: data.load("mnist", folder))


# --- npz ----------------------------------------------------------------------------------


def test_npz_round_trip(tmp_path, real):
    loaded = datafiles.read_npz(save_npz(tmp_path / "mnist.npz", real))
    for array, expected in zip(loaded, real, strict=True):
        np.testing.assert_array_equal(array, expected)
        assert array.dtype == np.uint8
        assert not array.flags.writeable


def _spread_file(path: str) -> None:  # would run if the object array below were unpickled
    Path(path).write_text("unpickled!")


class Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (_spread_file, (str(self.marker),))


def test_npz_object_array_is_refused_without_unpickling(tmp_path, real):
    marker = tmp_path / "code-ran"
    payload = np.array([Payload(marker)], dtype=object)
    path = save_npz(tmp_path / "evil.npz", real, y_train=payload)
    message = raises_data_error(path, "y_train is an object array", read=datafiles.read_npz)
    assert "refusing" in message
    assert not marker.exists()


NPZ_FAULTS = {  # name: (changes to the valid arrays, the fault the message names)
    "missing key": ({"x_test": None}, "missing keys x_test;"),
    "wrong shape": ({"x_train": np.zeros((50, 28, 27), np.uint8)}, "x_train is (50, 28, 27)"),
    "flat images": ({"x_test": np.zeros((20, 784), np.uint8)}, "x_test is (20, 784)"),
    "counts differ": ({"y_test": np.zeros(19, np.uint8)}, "counts differ: 20 images but y_test"),
    "labels out of range": ({"y_train": np.full(50, 12)}, "labels out of range: found 12..12"),
    "negative labels": ({"y_train": np.full(50, -1)}, "labels out of range: found -1..-1"),
    "float images": ({"x_train": np.zeros((50, 28, 28))}, "x_train has dtype float64"),
    "inverted": ({"x_train": np.full((50, 28, 28), 255, np.uint8)}, "look inverted"),
}


@pytest.mark.parametrize("name", NPZ_FAULTS)
def test_npz_fault_is_named(tmp_path, real, name):
    changes, fault = NPZ_FAULTS[name]
    path = save_npz(tmp_path / "mnist.npz", real, **changes)
    raises_data_error(path, fault, read=datafiles.read_npz)


@pytest.mark.parametrize(
    "spoil", [lambda path: truncate(path, 5000), lambda path: path.write_text("x_train,y_train")]
)
def test_npz_truncated_or_not_a_zip(tmp_path, real, spoil):
    path = save_npz(tmp_path / "mnist.npz", real)
    spoil(path)
    raises_data_error(path, "not a readable .npz (zip) archive", read=datafiles.read_npz)


def test_npz_ints_in_range_become_uint8(tmp_path, real):
    arrays = [array.astype(np.int64) for array in real]
    loaded = datafiles.read_npz(save_npz(tmp_path / "mnist.npz", tuple(arrays)))
    assert all(array.dtype == np.uint8 for array in loaded)
