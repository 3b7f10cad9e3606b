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
SAVING_PREFIX, DELETING_PREFIX = ".saving-", ".deleting-"  # hidden: a save being written, a retired copy
STAND_IN_PREFIX = ".standin-"  # hidden: `.standin-<hex>-<name>`, the old copy while a new one moves in


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
    saved_by: str = ""  # "app" (a browser session), "upload" (uploaded in one), "cli"; "" unrecorded
    owner: str = ""  # the saving browser session's opaque random id; no personal data

    @property
    def epochs(self) -> float:
        return self.history[-1]["epoch"] if self.history else 0.0

    def to_dict(self) -> dict[str, Any]:
        values = {key: value for key, value in self.__dict__.items() if key != "config"}
        return {"card_version": CARD_VERSION, **values, "config": self.config.to_dict()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Card:
        """The card that `to_dict` wrote; StoreError naming the field when one is missing or mistyped."""
        known = set(cls.__dataclass_fields__)
        values = {key: value for key, value in values.items() if key in known}
        _check_card_values(values)
        try:
            values["config"] = MLPConfig.from_dict(values["config"])
        except (TypeError, ValueError) as err:
            raise StoreError(f"{CARD_FILE}: its config is not a valid MLPConfig: {err}") from err
        return cls(**values)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _list_of(check):
    return lambda value: isinstance(value, list) and all(check(item) for item in value)


def _dict_of(check):
    return lambda value: (
        isinstance(value, dict) and all(isinstance(key, str) and check(item) for key, item in value.items())
    )


def _epoch_row(value: object) -> bool:
    return _dict_of(_number)(value) and "epoch" in value


REQUIRED_CARD_FIELDS = ("name", "config", "dataset", "data_source", "class_names")
CARD_FIELD_TYPES = {  # field: (check, what the check wants, in words)
    "name": (lambda v: isinstance(v, str), "a string"),
    "config": (lambda v: isinstance(v, dict), "an object of MLPConfig fields"),
    "dataset": (lambda v: isinstance(v, str), "a string"),
    "data_source": (lambda v: isinstance(v, str), "a string"),
    "class_names": (_list_of(lambda v: isinstance(v, str)), "a list of strings"),
    "samples": (_dict_of(lambda v: isinstance(v, int) and not isinstance(v, bool)), "counts by split"),
    "test_accuracy": (lambda v: v is None or _number(v), "a number or null"),
    "test_loss": (lambda v: v is None or _number(v), "a number or null"),
    "per_class_accuracy": (_list_of(lambda v: v is None or _number(v)), "a list of numbers or nulls"),
    "training_seconds": (_number, "a number"),
    "history": (_list_of(_epoch_row), 'a list of objects of numbers, each with an "epoch"'),
    "created": (lambda v: isinstance(v, str), "a string"),
    "versions": (_dict_of(lambda v: isinstance(v, str)), "an object of strings"),
    "notes": (lambda v: isinstance(v, str), "a string"),
    "command": (lambda v: isinstance(v, str), "a string"),
    "saved_by": (lambda v: isinstance(v, str), "a string"),
    "owner": (lambda v: isinstance(v, str), "a string"),
}


def _check_card_values(values: dict[str, Any]) -> None:
    """StoreError for the first missing or mistyped field, so no KeyError or TypeError surfaces later."""
    missing = [key for key in REQUIRED_CARD_FIELDS if key not in values]
    if missing:
        raise StoreError(
            f"{CARD_FILE} lacks {', '.join(missing)}. Expected the fields {list(REQUIRED_CARD_FIELDS)}. "
            f"Received: {sorted(values)}"
        )
    for key, value in values.items():
        check, wanted = CARD_FIELD_TYPES[key]
        if not check(value):
            raise StoreError(f"{CARD_FILE}: expected {key} to be {wanted}. Received: {key}={value!r:.100}")


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

    Everything is written to a hidden temporary folder and flushed to disk first, then put in place
    (see `_move_in`), so a crash at any point leaves the name holding the old model or the new one,
    whole, plus at most a hidden folder that listing skips and cleans up. Two saves under one name
    without `overwrite`: one wins and the other gets StoreError.
    """
    name = check_name(card.name)
    root = store_dir(store)
    root.mkdir(parents=True, exist_ok=True)
    if not overwrite and find(name, root) is not None:
        raise StoreError(f"A model named {name!r} already exists. Choose another name or delete it.")
    temporary = root / f"{SAVING_PREFIX}{uuid.uuid4().hex}"
    temporary.mkdir()
    old = None
    try:
        _write_folder(temporary, model, card, snapshots, detector)
        old = _move_in(temporary, root / name, overwrite)
    finally:
        if old is None and temporary.exists():  # not published: a failed save leaves nothing behind
            shutil.rmtree(temporary, ignore_errors=True)
    if old is not None:
        _retire(old)  # gone already when another session's listing cleared it: nothing left to do
    return root / name


def _write_folder(
    folder: Path,
    model: keras.Model,
    card: Card,
    snapshots: dict[int, np.ndarray] | None,
    detector: unsure.Detector | None,
) -> None:
    """Write a model's files into `folder`, each flushed to disk before the folder is published."""
    model.save(folder / MODEL_FILE)
    files.fsync(folder / MODEL_FILE)
    _reached("model written")
    if snapshots:
        np.savez_compressed(folder / SNAPSHOT_FILE, **{f"step_{s}": w for s, w in snapshots.items()})
        files.fsync(folder / SNAPSHOT_FILE)
        _reached("snapshots written")
    if detector is not None:
        (folder / DETECTOR_FILE).write_bytes(detector.to_bytes())
        files.fsync(folder / DETECTOR_FILE)
        _reached("detector written")
    _write_json(folder / CARD_FILE, card.to_dict())  # flushed, and the folder with it
    _reached("card written")


def _move_in(temporary: Path, final: Path, overwrite: bool) -> Path | None:
    """Publish the written folder `temporary` under `final`; the old copy's folder to retire, if any.

    A plain rename cannot replace a non-empty folder, so replacing one is a swap: Linux exchanges the
    two names in one atomic step (`files.exchange`), leaving the old copy under the temporary name.
    Elsewhere the old copy first steps aside as a stand-in (`.standin-<hex>-<name>`) that `find`,
    `load` and `list_models` serve under the name until the new copy is renamed in. We chose this over
    a name -> versioned-folder indirection because a model stays one plain folder that people can
    copy, zip and ship, and the listing stays one folder read.
    """
    root = final.parent
    if overwrite and final.is_dir():
        try:
            if files.exchange(temporary, final):
                files.fsync(root)
                _reached("swapped in")
                return temporary  # now holding the old copy
        except FileNotFoundError:
            pass  # deleted meanwhile: nothing to replace
        else:
            return _move_in_beside_stand_in(temporary, final)
    try:
        temporary.rename(final)  # atomic; fails if another save got there first
    except OSError as err:
        raise StoreError(
            f"A model named {final.name!r} was saved by someone else just now. Choose another name."
        ) from err
    files.fsync(root)
    _reached("renamed in")
    return None


def _move_in_beside_stand_in(temporary: Path, final: Path) -> Path:
    """Replace `final` by `temporary` where no atomic swap exists; the stand-in, to retire."""
    stand_in = final.parent / f"{STAND_IN_PREFIX}{uuid.uuid4().hex}-{final.name}"
    final.rename(stand_in)  # from here `find` serves the old copy from the stand-in
    files.fsync(final.parent)
    _reached("old copy stood aside")
    try:
        temporary.rename(final)
    except OSError as err:  # another save got in between: theirs stands, the stand-in is superseded
        raise StoreError(
            f"A model named {final.name!r} was saved by someone else just now. Choose another name."
        ) from err
    files.fsync(final.parent)
    _reached("renamed in")
    return stand_in


def _retire(folder: Path) -> bool:
    """Remove a replaced or deleted copy: renamed out of sight first (atomic), then its files removed.

    False when the folder was gone already: another session deleted it, or its listing cleared the
    old copy of a replace (see `_clean_stale_temporaries`) before this one could.
    """
    retired = folder.parent / f"{DELETING_PREFIX}{uuid.uuid4().hex}"
    try:
        folder.rename(retired)
    except FileNotFoundError:
        return False
    files.fsync(folder.parent)  # a deleted model stays deleted after a power cut
    _reached("old copy retired")
    shutil.rmtree(retired, ignore_errors=True)
    return True


def _reached(step: str) -> None:
    """A named point in a save or rename; nothing here, and the crash tests' place to kill the process."""


def find(name: str, store: str | os.PathLike | None = None) -> Path | None:
    """The folder that holds the model `name` in the store now, or None: its own, else its stand-in."""
    root = store_dir(store)
    folder = root / check_name(name)
    if folder.is_dir():
        return folder
    return _stand_ins(root).get(name)


def _stand_ins(root: Path) -> dict[str, Path]:
    """name -> the stand-in serving it (see `_move_in`): the old copy of a replace still under way."""
    found = {}
    for path in sorted(root.glob(f"{STAND_IN_PREFIX}*")):
        name = path.name.removeprefix(STAND_IN_PREFIX).partition("-")[2]
        if NAME_PATTERN.fullmatch(name) and path.is_dir():
            found[name] = path
    return found


def list_models(store: str | os.PathLike | None = None) -> list[StoredModel]:
    """Every model in the store, newest first; unreadable entries are listed with their error.

    An entry another session deletes while it is listed is left out, never an error.
    """
    root = store_dir(store)
    if not root.is_dir():
        return []
    _clean_stale_temporaries(root)
    folders = {path.name: path for path in root.iterdir() if not path.name.startswith(".")}
    folders = _stand_ins(root) | folders
    entries = [entry for name, path in folders.items() if (entry := _entry(name, path)) is not None]
    return sorted(entries, key=lambda entry: (entry.card is None, -entry.modified, entry.name))


def shipped_default() -> Path | None:
    """The shipped default model's folder, which serves every store (see DEFAULT_MODEL); None if absent."""
    folder = SHIPPED_STORE / DEFAULT_MODEL
    return folder if folder.is_dir() else None


def with_shipped_default(entries: list[StoredModel]) -> list[StoredModel]:
    """A store's listing, plus the shipped default when the store holds no model of its name; newest first."""
    if shipped_default() is not None and all(entry.name != DEFAULT_MODEL for entry in entries):
        entries = entries + [e for e in list_models(SHIPPED_STORE) if e.name == DEFAULT_MODEL]
    return sorted(entries, key=lambda entry: (entry.card is None, -entry.modified, entry.name))


def default_choice(names: list[str]) -> str | None:
    """Used before anyone chooses: the default when `names` (newest first) hold it, else the first."""
    return DEFAULT_MODEL if DEFAULT_MODEL in names else next(iter(names), None)


def mtime_ns(path: Path) -> int:
    """The file's time of change in ns, a cache key that changes with the file; 0 when it is missing."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def fingerprint(store: str | os.PathLike | None = None) -> tuple:
    """What a listing depends on: the store folder and each entry's model file and card, by time of change.

    A model file replaced in place does not touch the folder's own time, so the entries are looked at
    too (a few stat calls). Empty when the store folder cannot be read.
    """
    folder = store_dir(store)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return ()
    files = (MODEL_FILE, CARD_FILE)
    return (
        mtime_ns(folder),
        *((e.name, *(mtime_ns(Path(e.path) / f) for f in files)) for e in entries if e.is_dir()),
    )


def listed_fingerprint(store: str | os.PathLike | None = None) -> tuple:
    """What the listing shows depends on: `fingerprint` less the folder's own time and hidden entries
    (a save being written, a retired copy), which change while no listed model does.

    Cheap enough to poll: another process's save, rename or delete changes it once it is done.
    """
    return tuple(entry for entry in fingerprint(store)[1:] if not entry[0].startswith("."))


def _entry(name: str, path: Path) -> StoredModel | None:
    """The listing's entry for one folder; None when it is no folder or vanished while being read."""
    try:
        if not path.is_dir():
            return None
        modified = path.stat().st_mtime
    except OSError:  # deleted between the listing and now
        return None
    try:
        card = read_card(path)
        if not (path / MODEL_FILE).is_file():
            raise StoreError(f"{MODEL_FILE} is missing")
        safety.check_keras_file(path / MODEL_FILE)
    except (OSError, ValueError) as err:
        if not path.exists():
            return None  # deleted while its files were read
        return StoredModel(name, path, None, f"unreadable: {err}", modified)
    return StoredModel(name, path, card, None, modified)


def read_card(folder: Path) -> Card:
    """The card in a model folder; StoreError saying why when it is missing or malformed."""
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
    folder = find(text, store)
    if folder is None and text == DEFAULT_MODEL:
        folder = shipped_default()
    if folder is None:
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
    """Rename a stored model (card included); never overwrites another model.

    The folder moves first (atomic) and the card is rewritten after (atomic too), so a crash between
    the two leaves the model whole under its new name, its card still giving the old one.
    """
    root = store_dir(store)
    source = find(old, root)
    if source is None:
        raise StoreError(f"No model named {old!r} in {root}.")
    target = root / check_name(new)
    if find(new, root) is not None:
        raise StoreError(f"A model named {new!r} already exists. Choose another name.")
    card = read_card(source)  # a model with an unreadable card is refused before anything moves
    try:
        source.rename(target)
    except OSError as err:
        raise StoreError(f"A model named {new!r} was saved by someone else just now.") from err
    files.fsync(root)
    _reached("folder moved")
    card.name = new
    _write_json(target / CARD_FILE, card.to_dict())
    return target


def delete(name: str, store: str | os.PathLike | None = None) -> None:
    """Remove a stored model: first renamed out of sight (atomic), then its files removed."""
    root = store_dir(store)
    folder = find(name, root)
    if folder is None or not _retire(folder):
        raise StoreError(f"No model named {name!r} in {root}.")


def _write_json(path: Path, values: dict[str, Any]) -> None:
    files.write_atomically(path, json.dumps(values, indent=2).encode("utf-8"), prefix=".card-")


def _clean_stale_temporaries(root: Path) -> None:
    """Remove what interrupted saves and deletes left: old half-written saves, retired copies, and
    stand-ins whose new copy is in place."""
    now = time.time()
    for path in root.glob(f"{SAVING_PREFIX}*"):
        try:
            if now - path.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
    for path in root.glob(f"{DELETING_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)
    for name, path in _stand_ins(root).items():
        if (root / name).is_dir():
            shutil.rmtree(path, ignore_errors=True)
