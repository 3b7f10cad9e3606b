"""MNIST and Fashion-MNIST as checked uint8 arrays, from the best source at hand, saying which.

Order: a path the caller names; the Keras cache (with the full MNIST that `fetch` puts there) and
Debian's folders; a Keras download; a real 5,000-image sample bundled with the package, so everything
also works offline. Reading and checking the files themselves is `datafiles`' job.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import urllib.request
from pathlib import Path

import numpy as np

from mnist_mlp import datafiles, datasets, my_drawings

# What each dataset is lives in the leaf `datasets`, which `my_drawings` uses too; callers of `data`
# keep reading these names here.
DATASETS = datasets.DATASETS
ITEMS = datasets.ITEMS
Dataset = datasets.Dataset
class_names = datasets.class_names
DEBIAN_DATASETS_DIR = Path("/usr/share/datasets")  # dataset-fashion-mnist installs here
DATASETS_DIR_ENV = "MNIST_MLP_DATASETS_DIR"  # a folder to look in instead of Debian's (tests seal theirs)
SAMPLE_DIR = Path(__file__).parent / "sample"  # regenerate with scripts/make_sample.py
SAMPLE_FILES = {"mnist": "mnist_sample.npz", "fashion_mnist": "fashion_mnist_sample.npz"}
SAMPLE_ORIGINS = {
    "mnist": "real MNIST digits (from its training and test sets)",
    "fashion_mnist": "real Fashion-MNIST images (Zalando Research)",
}
FULL_SIZE = 70_000  # train + test images in either full dataset
OFFLINE_ENV = "MNIST_MLP_OFFLINE"  # set to 1 to never try the Keras download
DOWNLOAD_HOST = "storage.googleapis.com"  # where keras.datasets fetches both datasets
PROBE_TIMEOUT_S = 3.0  # offline, fail in seconds rather than import TensorFlow first
FETCHED_MNIST = "mnist"  # the folder in the Keras cache where `fetch` puts MNIST's four IDX files
FETCH_COMMAND = "python -m mnist_mlp fetch mnist"

_logger = logging.getLogger(__name__)


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
            IDX files, or a folder of saved drawings (see `my_drawings`: every drawing of `dataset`
            is in both halves). When given, only this path is tried.
        allow_download: try keras.datasets when nothing is found locally (never when the
            environment variable MNIST_MLP_OFFLINE=1).
    Returns:
        A Dataset of (n, 28, 28) uint8 images, ink white on black, and (n,) uint8 labels 0..9.
    Raises:
        ValueError: unknown dataset. datafiles.DataError: the named path (or the bundled
            sample) is bad.
    """
    names = class_names(dataset)
    if path is not None:
        where = Path(path).expanduser()
        if where.is_dir() and my_drawings.is_collection(where):
            return my_drawings.as_dataset(dataset, where)
        return _dataset(dataset, f"{where} (the path you named)", datafiles.read_path(where), names)
    notes: list[str] = []  # why each better source was passed over, reported in `source`
    for where, description, checksums in _local_sources(dataset):
        if not where.exists():
            continue
        try:
            if checksums:
                datafiles.check_sha256(where, checksums)
            return _dataset(dataset, _noted(description, notes), datafiles.read_path(where), names)
        except datafiles.DataError as err:
            _logger.warning("Skipping unusable local copy: %s", err)
            notes.append(f"skipped {err}")
    reason = download_blocker(allow_download)
    if reason is None:
        try:
            arrays = datafiles.check_arrays(_download(dataset), f"keras.datasets.{dataset}.load_data()")
            source = f"Keras download (keras.datasets.{dataset}, cached in {keras_cache_dir()})"
            return _dataset(dataset, _noted(source, notes), arrays, names)
        except Exception as err:  # any failure means: use the sample, and say why
            reason = f"download failed: {type(err).__name__}: {_one_line(err)}"
            _logger.warning("Keras download of %s failed: %s", dataset, err)
    notes.append(reason)
    arrays = datafiles.read_npz(SAMPLE_DIR / SAMPLE_FILES[dataset])
    total, train, test = len(arrays[0]) + len(arrays[2]), len(arrays[0]), len(arrays[2])
    source = (
        f"bundled sample: {total:,} {SAMPLE_ORIGINS[dataset]}, {train:,} train / {test:,} test, "
        f"not the full {FULL_SIZE:,}"
    )
    return _dataset(dataset, _noted(source, notes), arrays, names, is_sample=True)


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float = 0.1, seed: int = 0) -> datasets.Split:
    """Hold out a stratified, reproducible validation set from training data.

    Args:
        x: (n, ...) samples, e.g. (n, 28, 28) uint8 images.
        y: (n,) integer labels.
        fraction: share of each class held out, strictly between 0 and 1; each class gives
            round(fraction * its count), but always keeps at least one training sample.
        seed: the same inputs and seed always give the same split.
    Returns:
        A Split of new arrays (x_train, y_train, x_val, y_val), rows in their original order.
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
    return datasets.Split(x[~held_out], y[~held_out], x[held_out], y[held_out])


def keras_cache_dir() -> Path:
    """Where keras.datasets keeps downloads: $KERAS_HOME/datasets, else ~/.keras/datasets."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser() / "datasets"
    home = Path.home()
    base = home if os.access(home, os.W_OK) else Path("/tmp")  # Keras's own fallback
    return base / ".keras" / "datasets"


def _datasets_dir() -> Path:
    """Debian's datasets folder, or the one $MNIST_MLP_DATASETS_DIR names instead."""
    if os.environ.get(DATASETS_DIR_ENV):
        return Path(os.environ[DATASETS_DIR_ENV]).expanduser()
    return DEBIAN_DATASETS_DIR


def fetched_mnist_dir() -> Path:
    """Where `fetch` puts the full MNIST: a folder of the four raw IDX files in the Keras cache."""
    return keras_cache_dir() / FETCHED_MNIST


def _local_sources(dataset: str) -> list[tuple[Path, str, dict[str, str] | None]]:
    """(path, description, SHA-256 of each file or None) of each local copy worth trying, best first."""
    cache = keras_cache_dir()
    if dataset == "mnist":
        debian = _datasets_dir() / "mnist"
        fetched = fetched_mnist_dir()
        return [
            (cache / "mnist.npz", f"Keras cache {cache / 'mnist.npz'}", None),  # Keras checks its own file
            (fetched, f"{fetched} (from {FETCH_COMMAND}, checksums checked)", datasets.MNIST_SHA256),
            (debian, f"{debian} (Debian datasets folder)", None),
        ]
    debian = _datasets_dir() / "fashion-mnist"
    return [
        (cache / "fashion-mnist", f"Keras cache {cache / 'fashion-mnist'}", None),
        (debian, f"{debian} (Debian package dataset-fashion-mnist)", None),
    ]


def offline_reason() -> str | None:
    """Why nothing may be downloaded ($MNIST_MLP_OFFLINE set), or None."""
    if os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return f"download off: {OFFLINE_ENV}={os.environ[OFFLINE_ENV]}"
    return None


def download_blocker(allow_download: bool) -> str | None:
    """Why the Keras download will not be tried, or None to try it."""
    if not allow_download:
        return "download off: allow_download=False"
    if offline_reason():
        return offline_reason()
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


def _download(dataset: str) -> datafiles.Arrays:
    import keras  # here only: importing Keras starts TensorFlow

    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, dataset).load_data()
    return x_train, y_train, x_test, y_test


def _dataset(
    name: str, source: str, arrays: datafiles.Arrays, names: tuple[str, ...], is_sample: bool = False
) -> Dataset:
    _logger.info("Loaded %s from %s", name, source)
    return Dataset(name, source, *arrays, class_names=names, is_sample=is_sample)  # read-only from datafiles


def _noted(source: str, notes: list[str]) -> str:
    return f"{source} ({'; '.join(notes)})" if notes else source


def _one_line(err: BaseException, limit: int = 200) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
