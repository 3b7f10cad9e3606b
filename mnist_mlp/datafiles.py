"""MNIST-style dataset files, read and checked: IDX files (gzipped or raw) and Keras-style .npz.

Files are parsed, never unpickled, and checked for shapes, dtypes, labels and ink colour, so a
bad file fails here with a DataError naming the file and the fault. Reads are cached by file.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np

IMAGE_SIZE = 28  # pixels per side, both datasets
NUM_CLASSES = 10
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")  # the layout of Keras's mnist.npz
IDX_IMAGES_MAGIC = 0x00000803  # two zero bytes, type 0x08 (unsigned byte), 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # the same with 1 dimension
GZIP_MAGIC = b"\x1f\x8b"  # gzip is recognised by content, so a misnamed file still reads
# Where each array lives in an IDX folder: f"{stem}{sep}{kind}-ubyte[.gz]"; LeCun's site
# spells sep "-", many mirrors ".".
IDX_FILES = {
    "x_train": ("train-images", "idx3"),
    "y_train": ("train-labels", "idx1"),
    "x_test": ("t10k-images", "idx3"),
    "y_test": ("t10k-labels", "idx1"),
}
INVERTED_BORDER_MEAN = 128  # image borders average ~0 in MNIST, ~20 in Fashion-MNIST

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_train, y_train, x_test, y_test


class DataError(ValueError):
    """A dataset file is missing, truncated, corrupt or not MNIST-like; names the file and fault."""


def read_path(path: str | os.PathLike) -> Arrays:
    """Read and check a Keras-style .npz file or a folder of the four IDX files (`IDX_FILES`).

    Returns and raises as `read_npz`; a folder also fails on a missing file or mismatched counts.
    """
    path = Path(path)
    if path.is_dir():
        return _read_idx_folder(path)
    if path.exists():
        return read_npz(path)
    raise DataError(
        f"{path}: missing: no such file or folder; expected a Keras-style .npz or a folder "
        "with the four IDX files."
    )


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read and check one MNIST-style IDX file, gzipped or raw.

    Returns:
        images (n, 28, 28) uint8 in 0..255, or labels (n,) uint8 in 0..9; read-only.
    Raises:
        DataError: missing, truncated or corrupt file (bad gzip, short read, trailing bytes),
            wrong magic number, images not 28x28, labels out of 0..9.
    """
    return _read_idx_cached(*_file_key(Path(path)))


def read_npz(path: str | os.PathLike) -> Arrays:
    """Read and check a Keras-style .npz without ever unpickling.

    Returns:
        (x_train, y_train, x_test, y_test): (n, 28, 28) uint8 images and (n,) uint8 labels
        0..9, read-only.
    Raises:
        DataError: missing, truncated or corrupt file, missing keys, object arrays, wrong
            shapes or dtypes, counts that differ, labels out of 0..9, inverted images.
    """
    return _read_npz_cached(*_file_key(Path(path)))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array, e.g. (n, 28, 28) images or (n,) labels, as IDX; gzipped if *.gz."""
    content = idx_bytes(array)
    path = Path(path)
    if path.name.endswith(".gz"):
        content = gzip.compress(content, mtime=0)  # mtime=0: the same array gives the same bytes
    path.write_bytes(content)


def idx_bytes(array: np.ndarray) -> bytes:
    """A uint8 array as the bytes of a raw IDX file: the header, then the values row by row.

    One array has exactly one IDX form, so arrays from any source (a Keras download, say) can be
    checked against the SHA-256 of the original files.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim <= 255:
        raise ValueError(
            "An IDX file holds a uint8 array with 1 to 255 dimensions. Received: "
            f"dtype={array.dtype}, shape={array.shape}"
        )
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array).tobytes()


def check_sha256(folder: str | os.PathLike, expected: Mapping[str, str]) -> None:
    """Check that each file named in `expected` is in `folder` with the SHA-256 given for it.

    Raises:
        DataError: a file is missing or its bytes are not the ones expected (corrupt, truncated,
            changed), naming the file.
    """
    for name, digest in expected.items():
        found = _sha256_cached(*_file_key(Path(folder) / name))
        if found != digest:
            raise DataError(
                f"{Path(folder) / name}: checksum mismatch: SHA-256 {found[:12]}…, expected "
                f"{digest[:12]}…; the file is corrupt, truncated or not the original."
            )


def check_arrays(arrays: Arrays, where: str) -> Arrays:
    """Check and convert x_train, y_train, x_test, y_test from any source, e.g. a download.

    Returns them as (n, 28, 28) uint8 images and (n,) uint8 labels 0..9, read-only; raises
    DataError as `read_npz` does. `where` names the arrays in error messages.
    """
    checked = []
    for key, array in zip(NPZ_KEYS, arrays, strict=True):
        array = np.asarray(array)
        if not np.issubdtype(array.dtype, np.integer):  # floats: 0..1 or 0..255? Don't guess
            raise DataError(f"{where}: {key} has dtype {array.dtype}; expected uint8.")
        if key.startswith("x"):
            if array.ndim != 3 or array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
                raise DataError(f"{where}: wrong shape: {key} is {array.shape}, not (n, 28, 28).")
            if array.size and (array.min() < 0 or array.max() > 255):
                raise DataError(f"{where}: {key} has pixels outside 0..255.")
        elif array.ndim != 1:
            raise DataError(f"{where}: wrong shape: {key} is {array.shape}, not (n,).")
        else:
            _check_labels(array, f"{where}: {key}")
        checked.append(array.astype(np.uint8, copy=False))
    for images, labels in ((0, 1), (2, 3)):
        _check_pair(checked[images], checked[labels], f"{where}: {NPZ_KEYS[images]}", NPZ_KEYS[labels])
    return _read_only(tuple(checked))


def _file_key(path: Path) -> tuple[str, int, int, int]:
    """Cache key: the path, plus what changes when the file is replaced or rewritten."""
    try:
        stat = path.stat()
    except FileNotFoundError as err:
        raise DataError(f"{path}: missing: no such file.") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror}.") from err
    if not path.is_file():
        raise DataError(f"{path}: not a file.")
    return os.path.abspath(path), stat.st_mtime_ns, stat.st_size, stat.st_ino


@functools.lru_cache(maxsize=16)  # a 55 MB folder takes ~0.2 s to hash: once per version of a file
def _sha256_cached(path: str, _mtime_ns: int, _size: int, _inode: int) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err}.") from err
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)  # two full datasets' worth of IDX files, ~110 MB
def _read_idx_cached(path: str, _mtime_ns: int, _size: int, _inode: int) -> np.ndarray:
    try:
        with open(path, "rb") as raw:
            is_gzip = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            if not is_gzip:
                return _parse_idx(raw, path)
            with gzip.GzipFile(fileobj=raw) as unzipped:
                return _parse_idx(unzipped, path)
    except EOFError as err:
        raise DataError(f"{path}: truncated gzip: {err}.") from err
    except (gzip.BadGzipFile, zlib.error) as err:
        raise DataError(f"{path}: corrupt gzip: {err}.") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err}.") from err


def _parse_idx(stream: BinaryIO, path: str) -> np.ndarray:
    """Parse images or labels from an open IDX stream; frombuffer, so no per-item work."""
    magic_bytes = stream.read(4)
    if len(magic_bytes) < 4:
        raise DataError(f"{path}: truncated: {len(magic_bytes)} bytes, too short for IDX.")
    magic = int.from_bytes(magic_bytes, "big")
    if magic not in (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC):
        raise DataError(
            f"{path}: wrong magic number 0x{magic:08x}: expected 0x{IDX_IMAGES_MAGIC:08x} "
            f"(images) or 0x{IDX_LABELS_MAGIC:08x} (labels); not an MNIST-style IDX file."
        )
    ndim = magic & 0xFF
    dims_bytes = stream.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataError(f"{path}: truncated: the file ends inside its header.")
    dims = tuple(int(size) for size in np.frombuffer(dims_bytes, dtype=">u4"))
    if ndim == 3 and dims[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{path}: wrong shape: images are {dims[1]}x{dims[2]}, expected 28x28.")
    what = f"{dims[0]} images of 28x28" if ndim == 3 else f"{dims[0]} labels"
    expected = math.prod(dims)
    payload = stream.read(expected + 1)  # one byte more than promised detects trailing data
    if len(payload) < expected:
        raise DataError(
            f"{path}: truncated: header says {what} ({expected} bytes) but the file holds "
            f"{len(payload)} bytes after the {4 + 4 * ndim}-byte header."
        )
    if len(payload) > expected:
        raise DataError(f"{path}: trailing data: more bytes follow the {what} the header says.")
    array = np.frombuffer(payload, dtype=np.uint8).reshape(dims)  # read-only, zero-copy
    if ndim == 1:
        _check_labels(array, path)
    return array


@functools.lru_cache(maxsize=4)  # the two bundled samples and a couple of user files
def _read_npz_cached(path: str, _mtime_ns: int, _size: int, _inode: int) -> Arrays:
    if not zipfile.is_zipfile(path):  # also catches truncation: the zip index sits at the end
        raise DataError(f"{path}: not a readable .npz (zip) archive: truncated, corrupt or not .npz.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path}: missing keys {', '.join(missing)}; a Keras-style .npz holds "
                    f"{', '.join(NPZ_KEYS)}. Found: {', '.join(archive.files) or 'nothing'}."
                )
            arrays = tuple(_npz_member(archive, key, path) for key in NPZ_KEYS)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: corrupt .npz: {err}.") from err
    return check_arrays(arrays, path)


def _npz_member(archive: np.lib.npyio.NpzFile, key: str, path: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as err:  # np.load refuses object arrays when allow_pickle=False
        if "allow_pickle" in str(err):
            fault = "an object array, which would need unpickling; refusing to load it"
        else:
            fault = f"unreadable: {err}"
        raise DataError(f"{path}: {key} is {fault}.") from err


def _check_labels(labels: np.ndarray, where: str) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataError(f"{where}: labels out of range: found {labels.min()}..{labels.max()}, expected 0..9.")


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str, labels_where: str) -> None:
    """Same count, not empty, ink white on black (a model trained on one fails on the other)."""
    if len(images) != len(labels):
        raise DataError(
            f"{where}: counts differ: {len(images)} images but {labels_where} holds {len(labels)} labels."
        )
    if len(images) == 0:
        raise DataError(f"{where}: holds no images.")
    border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], 1)
    if border.mean() > INVERTED_BORDER_MEAN:
        raise DataError(
            f"{where}: images look inverted: border pixels average {border.mean():.0f}, "
            "expected a dark background (ink white on black). Invert them with 255 - x."
        )


def _read_idx_folder(folder: Path) -> Arrays:
    files = {key: _find_idx(folder, key) for key in NPZ_KEYS}
    arrays = {key: read_idx(file) for key, file in files.items()}
    for key, array in arrays.items():
        if array.ndim != (3 if key.startswith("x") else 1):
            kind = "labels" if array.ndim == 1 else "images"
            raise DataError(f"{files[key]}: holds {kind}, but its name says otherwise.")
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        _check_pair(arrays[images], arrays[labels], str(files[images]), str(files[labels]))
    return _read_only(tuple(arrays[key] for key in NPZ_KEYS))


def _find_idx(folder: Path, key: str) -> Path:
    stem, kind = IDX_FILES[key]
    names = [f"{stem}{sep}{kind}-ubyte{gz}" for sep in ("-", ".") for gz in (".gz", "")]
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: missing {names[0]}: found none of {', '.join(names)}.")


def _read_only(arrays: Arrays) -> Arrays:
    for array in arrays:
        array.setflags(write=False)  # cached and shared: nobody may change them in place
    return arrays
