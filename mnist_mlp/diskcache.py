"""Arrays kept on disk between runs, keyed by everything that made them: the pen renders and images
of no class that take minutes to draw are drawn once for the same data, seed and settings.

An entry is one .npz file (no pickles) holding its arrays and a manifest: its key and each array's
shape, dtype and SHA-256. It is written to a temporary file and renamed into place, and checked
against its manifest on every read: an entry that is truncated, corrupt or made for another key is
made again, with a logged line, never trusted. The key holds the library versions and the source
of the modules that draw (`code_version`), so a change to the drawing code makes new entries.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

_logger = logging.getLogger(__name__)

CACHE_ENV = "MNIST_MLP_CACHE"  # a folder to keep entries in, or "off" to keep none
MAX_ENTRIES = 8  # of each kind; the least recently used go first (a full MNIST entry: ~100 MB)
MANIFEST = "manifest"  # the member holding the key and the checksums
FORMAT = 1


def folder() -> Path | None:
    """Where entries are kept: $MNIST_MLP_CACHE, else $XDG_CACHE_HOME/mnist-mlp, else
    ~/.cache/mnist-mlp; None when $MNIST_MLP_CACHE is "off"."""
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    if chosen:
        return Path(chosen)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mnist-mlp"


def digest(*arrays: np.ndarray) -> str:
    """SHA-256 of arrays' shapes, dtypes and bytes: a key part that names data by its content."""
    hasher = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        hasher.update(f"{array.shape}{array.dtype.str}".encode())
        hasher.update(array.data)
    return hasher.hexdigest()


def code_version(*modules: str) -> str:
    """A key part that changes with the source of `modules` and with numpy, scipy, Pillow and
    scikit-image, whose arithmetic the drawings depend on."""
    from importlib import metadata

    hasher = hashlib.sha256()
    for name in modules:
        hasher.update(Path(importlib.import_module(name).__file__).read_bytes())
    for package in ("numpy", "scipy", "pillow", "scikit-image"):
        try:
            hasher.update(f"{package}={metadata.version(package)};".encode())
        except metadata.PackageNotFoundError:
            hasher.update(f"{package}=none;".encode())
    return hasher.hexdigest()


def cached(kind: str, key: dict, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays `make()` returns for `key`, read from the cache when a sound entry is there.

    Args:
        kind: what the arrays are, a file-name-safe word ("pen-renders").
        key: plain JSON data (strings, numbers, lists) naming everything the arrays depend on.
        make: makes the arrays when no sound entry is there; its result is kept for next time.
    """
    place = folder()
    if place is None:
        return make()
    key = json.loads(json.dumps(key))  # as the manifest will read back: tuples become lists
    name = hashlib.sha256(json.dumps([kind, key], sort_keys=True).encode()).hexdigest()[:32]
    path = place / f"{kind}-{name}.npz"
    if path.exists():
        try:
            arrays = _read(path, kind, key)
            os.utime(path)  # recently used
            _logger.info("Read %s from the cache: %s", kind, path)
            return arrays
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            _logger.warning("Making %s again: the cached copy %s is unusable (%s)", kind, path, err)
    arrays = make()
    try:
        _write(path, kind, key, arrays)
        _forget_old(place, kind)
    except OSError as err:  # a full disk or a read-only home costs the next run time, not this one
        _logger.warning("Could not keep %s in the cache %s: %s", kind, place, err)
    return arrays


def _manifest(kind: str, key: dict, arrays: dict[str, np.ndarray]) -> dict:
    described = {
        name: {"shape": list(array.shape), "dtype": array.dtype.str, "sha256": digest(array)}
        for name, array in arrays.items()
    }
    return {"format": FORMAT, "kind": kind, "key": key, "arrays": described}


def _write(path: Path, kind: str, key: dict, arrays: dict[str, np.ndarray]) -> None:
    if MANIFEST in arrays:
        raise ValueError(f"Expected array names other than {MANIFEST!r}. Received: {sorted(arrays)}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_manifest(kind, key, arrays), sort_keys=True).encode()
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays, **{MANIFEST: np.frombuffer(text, np.uint8)})
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # whole or not at all: a reader never sees half an entry
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read(path: Path, kind: str, key: dict) -> dict[str, np.ndarray]:
    """The entry's arrays; ValueError (or an I/O error) unless every one matches its manifest."""
    with np.load(path, allow_pickle=False) as entry:
        manifest = json.loads(entry[MANIFEST].tobytes())
        if manifest.get("format") != FORMAT or manifest.get("kind") != kind or manifest.get("key") != key:
            raise ValueError("it was made for other data, settings or code")
        names = set(entry.files) - {MANIFEST}
        if names != set(manifest["arrays"]):
            raise ValueError(f"it holds {sorted(names)}, its manifest names {sorted(manifest['arrays'])}")
        arrays = {name: entry[name] for name in sorted(names)}
    expected = _manifest(kind, key, arrays)["arrays"]
    for name, description in manifest["arrays"].items():
        if expected[name] != description:
            raise ValueError(f"its array {name!r} does not match its checksum")
    return arrays


def _forget_old(place: Path, kind: str) -> None:
    """Delete all but the MAX_ENTRIES most recently used entries of `kind`."""
    entries = sorted(place.glob(f"{kind}-*.npz"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in entries[MAX_ENTRIES:]:
        path.unlink(missing_ok=True)
