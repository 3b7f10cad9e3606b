"""The model store: saved models with their cards, saved atomically and loaded defensively.

Each model is a folder `saved_models/<name>/` holding `model.keras`, `card.json` (what the model
is and how it was made), when training recorded them `snapshots.npz` (first-layer weights), and
`unsure.npz`, what the Unsure verdict knows of the model's training images (see `unsure`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_mlp import files, safety, unsure
from mnist_mlp.model import MLPConfig

if TYPE_CHECKING:
    import keras

STORE_ENV = "MNIST_MLP_MODELS"
SHIPPED_STORE = Path(__file__).resolve().parent.parent / "saved_models"
DEFAULT_MODEL = "digits-mlp"  # shipped; used when the user has trained none
MODEL_FILE, CARD_FILE, SNAPSHOT_FILE = "model.keras", "card.json", "snapshots.npz"
DETECTOR_FILE = "unsure.npz"
MAX_DETECTOR_BYTES = 2**20  # 50 principal directions of 784 pixels and two limits: about 160 KB
CARD_VERSION = 1
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,62}")
RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(10)}
STALE_TEMP_SECONDS = 3600  # a half-written save older than this was interrupted: clean it up


class StoreError(ValueError):
    """A store operation that cannot be done as asked (bad name, missing model, name taken...)."""


@dataclass
class Card:
    """What a saved model is and how it was made; stored as card.json beside it."""

    name: str
    config: MLPConfig
    dataset: str  # "mnist", "fashion_mnist" or a user's label
    data_source: str  # where the training data came from, in words
    class_names: list[str]
    samples: dict[str, int] = field(default_factory=dict)  # train / validation / test counts
    test_accuracy: float | None = None
    test_loss: float | None = None
    per_class_accuracy: list[float | None] = field(default_factory=list)
    training_seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    versions: dict[str, str] = field(default_factory=dict)
    notes: str = ""  # anything a reader should know, e.g. what the data leaves out
    command: str = ""  # the command that reproduces this model, when there is one

    @property
    def epochs(self) -> float:
        return self.history[-1]["epoch"] if self.history else 0.0

    def to_dict(self) -> dict[str, Any]:
        values = {key: value for key, value in self.__dict__.items() if key != "config"}
        return {"card_version": CARD_VERSION, **values, "config": self.config.to_dict()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Card:
        values = dict(values)
        values.pop("card_version", None)
        values["config"] = MLPConfig.from_dict(values["config"])
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in values.items() if key in known})


@dataclass(frozen=True)
class StoredModel:
    """One entry of the store's listing; `error` says why an unreadable entry cannot be used."""

    name: str
    path: Path
    card: Card | None
    error: str | None = None
    modified: float = 0.0


@dataclass
class LoadedModel:
    model: keras.Model
    card: Card | None
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # step -> (units, 28, 28)
    path: Path | None = None
    detector: unsure.Detector | None = None  # None: saved without one (uploaded, or before they existed)


def store_dir(store: str | os.PathLike | None = None) -> Path:
    """The store folder: the one given, else $MNIST_MLP_MODELS, else the shipped saved_models/."""
    return Path(store or os.environ.get(STORE_ENV) or SHIPPED_STORE)


def check_name(name: str, what: str = "model") -> str:
    """The name if it is safe as a folder name everywhere; StoreError saying why otherwise.

    Args:
        what: what the name is for, as the message should call it ("model", "collection").
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise StoreError(
            f"Invalid {what} name {name!r}: use 1-63 letters, digits, spaces, '.', '_' or '-', "
            "starting with a letter or digit (no slashes, no '..', no control characters)."
        )
    if ".." in name or name.endswith((".", " ")) or name.split(".")[0].lower() in RESERVED_NAMES:
        raise StoreError(f"Invalid {what} name {name!r}: it is reserved or ends badly; pick another.")
    return name


def versions() -> dict[str, str]:
    """Versions of the libraries that shape a saved model, for its card."""
    import platform

    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def save(
    model: keras.Model,
    card: Card,
    *,
    snapshots: dict[int, np.ndarray] | None = None,
    detector: unsure.Detector | None = None,
    store: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> Path:
    """Save a model with its card as one unit: either all of it lands, or nothing changes.

    Everything is written to a hidden temporary folder first and then renamed into place, so a
    crash leaves at most a temporary folder that listing skips. Two saves under one name: one wins
    and the other gets StoreError.
    """
    name = check_name(card.name)
    root = store_dir(store)
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    if final.exists() and not overwrite:
        raise StoreError(f"A model named {name!r} already exists. Choose another name or delete it.")
    temporary = root / f".saving-{uuid.uuid4().hex}"
    temporary.mkdir()
    try:
        model.save(temporary / MODEL_FILE)
        if snapshots:
            np.savez_compressed(temporary / SNAPSHOT_FILE, **{f"step_{s}": w for s, w in snapshots.items()})
        if detector is not None:
            (temporary / DETECTOR_FILE).write_bytes(detector.to_bytes())
        _write_json(temporary / CARD_FILE, card.to_dict())
        files.fsync_dir(temporary)
        if overwrite and final.exists():
            retired = root / f".deleting-{uuid.uuid4().hex}"
            final.rename(retired)
            shutil.rmtree(retired, ignore_errors=True)
        try:
            temporary.rename(final)  # atomic; fails if another save got there first
        except OSError as err:
            raise StoreError(
                f"A model named {name!r} was saved by someone else just now. Choose another name."
            ) from err
        files.fsync_dir(root)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return final


def list_models(store: str | os.PathLike | None = None) -> list[StoredModel]:
    """Every model in the store, newest first; unreadable entries are listed with their error."""
    root = store_dir(store)
    if not root.is_dir():
        return []
    _clean_stale_temporaries(root)
    entries = []
    for path in root.iterdir():
        if path.name.startswith(".") or not path.is_dir():
            continue
        modified = path.stat().st_mtime
        try:
            card = read_card(path)
            if not (path / MODEL_FILE).is_file():
                raise StoreError(f"{MODEL_FILE} is missing")
            safety.check_keras_file(path / MODEL_FILE)
            entries.append(StoredModel(path.name, path, card, None, modified))
        except (OSError, ValueError, KeyError, TypeError) as err:
            entries.append(StoredModel(path.name, path, None, f"unreadable: {err}", modified))
    return sorted(entries, key=lambda entry: (entry.card is None, -entry.modified, entry.name))


def read_card(folder: Path) -> Card:
    """The card in a model folder; ValueError when it is missing or malformed."""
    path = folder / CARD_FILE
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise StoreError(f"{CARD_FILE} is missing") from err
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise StoreError(f"{CARD_FILE} is not valid JSON: {str(err)[:200]}") from err
    if not isinstance(values, dict):
        raise StoreError(f"{CARD_FILE} should hold a JSON object")
    return Card.from_dict(values)


def resolve(name_or_path: str | os.PathLike, store: str | os.PathLike | None = None) -> Path:
    """The model folder or .keras file that a name (in the store) or a path refers to."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix == ".keras" or os.sep in text or candidate.is_dir():
        if not candidate.exists():
            raise StoreError(f"{text}: no such file or folder.")
        return candidate
    folder = store_dir(store) / check_name(text)
    if not folder.is_dir() and text == DEFAULT_MODEL and (SHIPPED_STORE / text).is_dir():
        folder = SHIPPED_STORE / text  # the shipped default serves every store
    if not folder.is_dir():
        known = ", ".join(m.name for m in list_models(store)) or "none"
        raise StoreError(f"No model named {text!r} in {store_dir(store)}. Saved models: {known}.")
    return folder


def load(name_or_path: str | os.PathLike, store: str | os.PathLike | None = None) -> LoadedModel:
    """Load a stored model (by name) or a .keras file (by path), with its card and snapshots.

    The .keras file is inspected before Keras sees it and then loaded in safe_mode; see `safety`.
    """
    path = resolve(name_or_path, store)
    if path.is_file():
        return LoadedModel(safety.load_keras_file(path), None, {}, path)
    card = read_card(path)
    model = safety.load_keras_file(path / MODEL_FILE)
    return LoadedModel(model, card, read_snapshots(path), path, read_detector(path))


def read_detector(folder: Path) -> unsure.Detector | None:
    """The Unsure detector saved with a model, or None if it has none; StoreError when unreadable."""
    path = folder / DETECTOR_FILE
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_DETECTOR_BYTES:
        raise StoreError(f"{path}: {path.stat().st_size:,} bytes, more than a detector can need.")
    try:
        return unsure.Detector.from_bytes(path.read_bytes())
    except unsure.UnsureError as err:
        raise StoreError(f"{path}: {err}") from err


def read_snapshots(folder: Path) -> dict[int, np.ndarray]:
    """The first-layer weight snapshots saved with a model, step -> (units, 28, 28); {} if none."""
    path = folder / SNAPSHOT_FILE
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {int(key.removeprefix("step_")): archive[key] for key in archive.files}
    except (OSError, ValueError) as err:
        raise StoreError(f"{path}: unreadable snapshots: {err}") from err


def rename(old: str, new: str, store: str | os.PathLike | None = None) -> Path:
    """Rename a stored model (card included); never overwrites another model."""
    root = store_dir(store)
    source = resolve(old, store)
    target = root / check_name(new)
    if target.exists():
        raise StoreError(f"A model named {new!r} already exists. Choose another name.")
    card = read_card(source)
    card.name = new
    _write_json(source / CARD_FILE, card.to_dict())
    source.rename(target)
    return target


def delete(name: str, store: str | os.PathLike | None = None) -> None:
    """Remove a stored model: first renamed out of sight (atomic), then its files removed."""
    root = store_dir(store)
    folder = root / check_name(name)
    if not folder.is_dir():
        raise StoreError(f"No model named {name!r} in {root}.")
    retired = root / f".deleting-{uuid.uuid4().hex}"
    folder.rename(retired)
    shutil.rmtree(retired, ignore_errors=True)


def _write_json(path: Path, values: dict[str, Any]) -> None:
    files.write_atomically(path, json.dumps(values, indent=2).encode("utf-8"), prefix=".card-")


def _clean_stale_temporaries(root: Path) -> None:
    now = time.time()
    for path in root.glob(".saving-*"):
        try:
            if now - path.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
    for path in root.glob(".deleting-*"):
        shutil.rmtree(path, ignore_errors=True)
