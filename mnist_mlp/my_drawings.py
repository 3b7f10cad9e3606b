"""'My drawings': labelled 28x28 drawings kept in a folder, one PNG each, saved atomically.

Layout: `<folder>/<dataset>/<label>-<UTC time>-<id>.png` (dataset "mnist" or "fashion_mnist", so digits
and clothes never mix) plus a marker file that lets `data.load(path=<folder>)` recognise it.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import logging
import os
import re
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_mlp import datafiles, datasets, files, store

DRAWINGS_ENV = "MNIST_MLP_DRAWINGS"  # like MNIST_MLP_MODELS for the model store
MARKER_FILE = "mnist-mlp-drawings.txt"  # its presence makes a folder a drawings collection
FILE_PATTERN = re.compile(r"(?P<label>[0-9])-(?P<stamp>\d{8}T\d{6}\d{6})-(?P<key>[0-9a-f]{8})\.png")
TEMP_PREFIX = ".saving-"  # half-written files; never listed, removed once stale
STALE_TEMP_SECONDS = 3600  # a temporary file this old belongs to a save that died
FLOAT_TOLERANCE = 1e-4  # resampling can overshoot [0, 1] by rounding error; clipped, not refused
MAX_FILE_BYTES = 64 * 2**10  # a 28x28 grey PNG is under 1 KB; anything huge is not ours

_logger = logging.getLogger(__name__)


class DrawingsError(datafiles.DataError):
    """A drawings operation that cannot be done as asked (bad image or label, none saved...)."""


@dataclass(frozen=True)
class Drawing:
    """One saved drawing; `id` (the file's stem) names it within its dataset."""

    id: str
    dataset: str  # "mnist" | "fashion_mnist"
    label: int  # 0..9, the class it truly is
    path: Path
    created: float  # seconds since the epoch, from the file name


def drawings_dir(folder: str | os.PathLike | None = None) -> Path:
    """The collection folder: the one given, else $MNIST_MLP_DRAWINGS, else the user's data dir.

    The data dir is $XDG_DATA_HOME/mnist-mlp/drawings, or ~/.local/share/mnist-mlp/drawings.
    """
    if folder:
        return Path(folder).expanduser()
    if os.environ.get(DRAWINGS_ENV):
        return Path(os.environ[DRAWINGS_ENV]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "mnist-mlp" / "drawings"


def collection_dir(name: str = "") -> Path:
    """A named collection inside the drawings folder; "" is the folder itself.

    The app lets a person choose a collection by name, never by path, so nobody in a classroom
    can make the server write or list files anywhere else. Raises DrawingsError for a bad name.
    """
    root = drawings_dir()
    if not name.strip():
        return root
    if name.strip() in datasets.DATASETS or name.strip() == MARKER_FILE:
        raise DrawingsError(f"Invalid collection name {name.strip()!r}: the main collection uses it.")
    try:
        return root / store.check_name(name.strip(), what="collection")
    except store.StoreError as err:
        raise DrawingsError(str(err)) from err


def is_collection(folder: str | os.PathLike) -> bool:
    """True when `folder` holds a drawings collection (made by `save`)."""
    return (Path(folder) / MARKER_FILE).is_file()


def save(
    image: np.ndarray, label: int, dataset: str = "mnist", folder: str | os.PathLike | None = None
) -> Drawing:
    """Save one drawing with its true label; atomic, so a crash never leaves half a file.

    Args:
        image: (28, 28) uint8 in 0..255, or float in [0, 1] (as `preprocess.prepare` gives), ink
            white on black.
        label: the true class, 0..9.
        dataset: "mnist" or "fashion_mnist": which kind of picture it is.
        folder: the collection; see `drawings_dir`.
    Returns:
        The saved Drawing.
    Raises:
        DrawingsError: wrong shape or range, a blank image, a label outside 0..9, unknown dataset.
        OSError: the folder cannot be written.
    """
    pixels = _as_pixels(image)
    label = _check_label(label)
    target = drawings_dir(folder) / _check_dataset(dataset)
    target.mkdir(parents=True, exist_ok=True)
    _ensure_marker(target.parent)
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1e6):06d}"  # UTC
    final = target / f"{label}-{stamp}-{uuid.uuid4().hex[:8]}.png"
    files.write_atomically(final, _png_bytes(pixels), prefix=TEMP_PREFIX)
    return Drawing(final.stem, dataset, label, final, _created(stamp))


def list_drawings(dataset: str = "mnist", folder: str | os.PathLike | None = None) -> list[Drawing]:
    """The saved drawings of `dataset`, oldest first; temporaries and foreign files are skipped."""
    target = drawings_dir(folder) / _check_dataset(dataset)
    if not target.is_dir():
        return []
    _clean_stale_temporaries(target)
    found = []
    for path in target.iterdir():
        match = FILE_PATTERN.fullmatch(path.name)
        created = _created(match["stamp"]) if match else None  # None: a name we did not write
        if created is not None and path.is_file():
            found.append(Drawing(path.stem, dataset, int(match["label"]), path, created))
    return sorted(found, key=lambda drawing: (drawing.created, drawing.id))


def signature(dataset: str = "mnist", folder: str | os.PathLike | None = None) -> str:
    """A short text that changes whenever a drawing of `dataset` is saved or deleted (a cache key).

    Saved files are never rewritten (each save gets a new name), so their names are enough.
    """
    names = "\n".join(sorted(drawing.path.name for drawing in list_drawings(dataset, folder)))
    return hashlib.sha256(f"{drawings_dir(folder).resolve()}\n{names}".encode()).hexdigest()[:16]


def read(drawing: Drawing) -> np.ndarray:
    """The drawing's pixels: (28, 28) uint8 in 0..255, ink white on black.

    Raises:
        DrawingsError: the file is missing, too big, not a PNG or not 28x28 grey.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        if drawing.path.stat().st_size > MAX_FILE_BYTES:
            raise DrawingsError(f"{drawing.path}: over {MAX_FILE_BYTES // 1024} KB, not a drawing.")
        with Image.open(drawing.path) as picture:
            if picture.format != "PNG" or picture.mode != "L" or picture.size != (28, 28):
                raise DrawingsError(
                    f"{drawing.path}: expected a 28x28 grey PNG; found {picture.format} "
                    f"{picture.mode} {picture.size[0]}x{picture.size[1]}. Delete or replace it."
                )
            return np.asarray(picture, dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError) as err:
        raise DrawingsError(f"{drawing.path}: unreadable: {err}. Delete or replace it.") from err


def delete(drawing: Drawing) -> None:
    """Remove one drawing's file; DrawingsError when it is already gone."""
    try:
        drawing.path.unlink()
    except FileNotFoundError as err:
        raise DrawingsError(f"{drawing.path}: already deleted.") from err


def arrays(
    dataset: str = "mnist", folder: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every readable drawing of `dataset` as arrays, and a note for each file skipped.

    Returns:
        (images (n, 28, 28) uint8 in 0..255, labels (n,) uint8 in 0..9, problems): unreadable
        files are skipped, not fatal, so one bad file never hides the rest.
    Raises:
        DrawingsError: no readable drawings of this dataset.
    """
    _, images, labels, problems = read_all(dataset, folder)
    if not len(labels):
        kind = "digits" if dataset == "mnist" else "clothes"
        raise DrawingsError(
            f"No {kind} drawings in {drawings_dir(folder) / dataset}. Save some on the Draw page "
            f"(or set {DRAWINGS_ENV} to the folder that holds them)."
        )
    return images, labels, problems


def read_all(
    dataset: str = "mnist", folder: str | os.PathLike | None = None
) -> tuple[list[Drawing], np.ndarray, np.ndarray, list[str]]:
    """Every readable drawing of `dataset`, oldest first, with its pixels; none is no error.

    Returns:
        (the readable drawings, their images (n, 28, 28) uint8, their labels (n,) uint8, a note for
        each file skipped): a file deleted since the listing or damaged is skipped, not fatal.
    """
    found, images, problems = [], [], []
    for drawing in list_drawings(dataset, folder):
        try:
            images.append(read(drawing))
            found.append(drawing)
        except DrawingsError as err:
            _logger.warning("Skipping a drawing: %s", err)
            problems.append(str(err))
    pixels = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
    return found, pixels, np.asarray([drawing.label for drawing in found], np.uint8), problems


def as_dataset(dataset: str = "mnist", folder: str | os.PathLike | None = None) -> datasets.Dataset:
    """My drawings as a Dataset: every drawing is in both x_train and x_test.

    Test figures on it are figures on the drawings; training on it (fine-tuning) and then
    testing on it measures memory, not generalisation, so test on MNIST's test set instead.
    """
    images, labels, problems = arrays(dataset, folder)
    for array in (images, labels):
        array.setflags(write=False)
    skipped = f", {len(problems)} unreadable files skipped" if problems else ""
    source = f"my drawings: {len(labels):,} in {drawings_dir(folder) / dataset}{skipped}"
    names = datasets.class_names(dataset)
    return datasets.Dataset(dataset, source, images, labels, images, labels, names, is_sample=False)


def mix(
    x_train: np.ndarray, y_train: np.ndarray, images: np.ndarray, labels: np.ndarray, times: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training data with the drawings appended `times` times each, for fine-tuning.

    A few hundred drawings among tens of thousands of images would barely count; repeating them
    weighs them up. Training shuffles every epoch, so appending at the end is enough.

    Args:
        x_train: (n, 28, 28) uint8 images; y_train: (n,) uint8 labels.
        images: (m, 28, 28) uint8 drawings; labels: (m,) uint8.
        times: 1..1000 copies of each drawing.
    Returns:
        (n + times * m, 28, 28) images and (n + times * m,) labels, new arrays.
    """
    if isinstance(times, bool) or not isinstance(times, (int, np.integer)) or not 1 <= times <= 1000:
        raise DrawingsError(f"Expected times in 1..1000. Received: times={times!r}")
    images, labels = np.asarray(images), np.asarray(labels)
    if (
        images.dtype != np.uint8
        or labels.dtype.kind not in "iu"
        or (labels.size and not 0 <= labels.min() <= labels.max() <= 9)
    ):
        raise DrawingsError(
            "Expected uint8 drawings and integer labels in 0..9, as `arrays` gives them. "
            f"Received: images.dtype={images.dtype}, labels.dtype={labels.dtype}"
        )
    if images.shape[1:] != x_train.shape[1:] or labels.shape != (len(images),):
        raise DrawingsError(
            f"Expected drawings shaped like the training images {x_train.shape[1:]} with one label "
            f"each. Received: images.shape={images.shape}, labels.shape={labels.shape}"
        )
    mixed_x = np.concatenate([x_train, np.tile(images, (times, 1, 1))]).astype(np.uint8, copy=False)
    mixed_y = np.concatenate([y_train, np.tile(labels, times)]).astype(np.uint8, copy=False)
    return mixed_x, mixed_y


def npz_bytes(dataset: str = "mnist", folder: str | os.PathLike | None = None) -> bytes:
    """The drawings as a Keras-style .npz (x_train, y_train, x_test, y_test; both halves hold all).

    `datafiles.read_npz` and `keras.datasets`-style code read it back; no pickled objects inside.
    """
    images, labels, _ = arrays(dataset, folder)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, **dict(zip(datafiles.NPZ_KEYS, (images, labels, images, labels), strict=True))
    )
    return buffer.getvalue()


def idx_zip_bytes(dataset: str = "mnist", folder: str | os.PathLike | None = None) -> bytes:
    """The drawings as a zip of the four gzipped IDX files, named as on LeCun's site.

    Unzipped, the folder is what `data.load(path=...)` and `--data` read.
    """
    images, labels, _ = arrays(dataset, folder)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(buffer, "w") as archive:
        for key, array in zip(datafiles.NPZ_KEYS, (images, labels, images, labels), strict=True):
            stem, kind = datafiles.IDX_FILES[key]
            name = f"{stem}-{kind}-ubyte.gz"
            datafiles.write_idx(Path(scratch) / name, array)
            archive.write(Path(scratch) / name, name)
    return buffer.getvalue()


def export(path: str | os.PathLike, dataset: str = "mnist", folder: str | os.PathLike | None = None) -> Path:
    """Write the drawings to `path`: a .npz file, or else a folder of the four IDX files."""
    path = Path(path).expanduser()
    if path.suffix == ".npz":
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_atomically(path, npz_bytes(dataset, folder), prefix=TEMP_PREFIX)
        return path
    path.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(idx_zip_bytes(dataset, folder))) as archive:
        for name in archive.namelist():
            files.write_atomically(path / name, archive.read(name), prefix=TEMP_PREFIX)
    return path


def _as_pixels(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.shape != (28, 28):
        raise DrawingsError(f"Expected a (28, 28) image. Received: shape={image.shape}")
    if image.dtype == np.uint8:
        pixels = image
    elif np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all():
            raise DrawingsError("Expected a float image in [0, 1]. Received: NaN or infinite values")
        if image.min() < -FLOAT_TOLERANCE or image.max() > 1 + FLOAT_TOLERANCE:
            raise DrawingsError(
                "Expected a float image in [0, 1] (or uint8 in 0..255). Received: values in "
                f"{image.min():g}..{image.max():g}"
            )
        pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    else:
        raise DrawingsError(f"Expected uint8 or float pixels. Received: dtype={image.dtype}")
    if not pixels.any():
        raise DrawingsError("The image is blank: draw something before saving it.")
    return pixels


def _check_label(label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < 10:
        raise DrawingsError(f"Expected a label in 0..9. Received: label={label!r}")
    return int(label)


def _check_dataset(dataset: str) -> str:
    if dataset not in datasets.DATASETS:
        raise DrawingsError(f"Expected dataset one of {', '.join(datasets.DATASETS)}. Received: {dataset!r}")
    return dataset


def _png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _ensure_marker(folder: Path) -> None:
    if not (folder / MARKER_FILE).is_file():
        note = "A collection of labelled drawings made by mnist-mlp: <dataset>/<label>-<time>-<id>.png\n"
        files.write_atomically(folder / MARKER_FILE, note.encode(), prefix=TEMP_PREFIX)


def _clean_stale_temporaries(folder: Path) -> None:
    now = time.time()
    for path in folder.glob(f"{TEMP_PREFIX}*"):
        try:
            if now - path.stat().st_mtime > STALE_TEMP_SECONDS:
                path.unlink()
        except OSError:
            pass  # another process got there first, or it is not ours to remove


def _created(stamp: str) -> float | None:
    try:
        return calendar.timegm(time.strptime(stamp[:15], "%Y%m%dT%H%M%S")) + int(stamp[15:]) / 1e6
    except ValueError:  # digits that are no date, in a file someone else named
        return None
