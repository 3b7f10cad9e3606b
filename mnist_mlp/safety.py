"""Loading model files that may be hostile: inspect first, then load in Keras safe_mode, then check.

Keras safe_mode is not a sandbox (published bypasses went through config.json, legacy .h5 files and
layers that load other files), so before Keras reads anything we accept only a `.keras` archive
with the expected members, bounded sizes, and a config made of the few Keras classes an MLP needs.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_mlp.model import IMAGE_SHAPE, NUM_CLASSES

if TYPE_CHECKING:
    import keras

# A joined model (`ensemble`) is saved with its optimizer not yet built, so there are no moments for
# Keras to load, which it warns about at every load. Set once, for the process: catch_warnings in a
# load would not be thread-safe between sessions.
warnings.filterwarnings("ignore", "Skipping variable loading for optimizer", UserWarning)
MAX_FILE_BYTES = 64 * 2**20  # a 784-700-500-10 model with Adam state is about 11 MB
MAX_UNCOMPRESSED_BYTES = 256 * 2**20  # bounds a zip bomb
MAX_CONFIG_BYTES = 2**20
MIN_KERAS_VERSION = (3, 15, 1)  # carries the published safe_mode fixes
ALLOWED_MEMBERS = {"metadata.json", "config.json", "model.weights.h5"}
ALLOWED_MODELS = {"Functional", "Sequential"}
ALLOWED_LAYERS = {
    "InputLayer", "Flatten", "Reshape", "Dense", "Dropout", "Activation", "BatchNormalization",
    "Rescaling",
}  # fmt: skip
# Every class an object inside a layer or the compile settings may name: what build_model and
# train.py save with every activation, optimizer, learning-rate decay, L2 and dropout (found by
# inspecting their config.json, and the shipped models'), and the few alternatives Keras writes by
# default for the same layers and losses. Anything else (a layer nested in a layer, a custom
# initializer) is refused, however harmless its module looks.
ALLOWED_NESTED = {
    "__keras_tensor__", "DTypePolicy", "FloatDTypePolicy",
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "RandomUniform", "RandomNormal", "TruncatedNormal", "VarianceScaling", "Zeros", "Ones", "Constant",
    "L1", "L2", "L1L2",
    "Adam", "AdamW", "Nadam", "SGD", "Adagrad", "RMSprop",
    "CosineDecay", "CosineDecayRestarts", "ExponentialDecay",
    "SparseCategoricalCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalAccuracy", "CategoricalAccuracy", "Accuracy",
}  # fmt: skip
FORBIDDEN_CLASSES = {"Lambda", "__lambda__", "function", "TFSMLayer"}


# What reading a damaged archive raises: unknown compression (NotImplementedError), JSON nested
# past Python's recursion limit (RecursionError), and the usual zip, I/O and JSON errors.
CORRUPT_ARCHIVE_ERRORS = (
    zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RecursionError,
)  # fmt: skip


class ModelFileError(ValueError):
    """A model file that we refuse to load, with the reason."""


def load_keras_file(path: str | os.PathLike) -> keras.Model:
    """A Keras MLP from a .keras file, after checks; ModelFileError saying why if refused.

    Nothing in the file runs: the archive and its config are checked before Keras opens it, the
    load uses safe_mode from a temporary copy whose name we chose, and the result must map
    (n, 28, 28) images to (n, 10) probabilities.
    """
    path = Path(path)
    return load_keras_bytes(_read_bounded(path), label=path.name)


def check_keras_file(path: str | os.PathLike) -> None:
    """The checks `load_keras_file` makes before Keras sees the file, without loading it.

    Cheap (no TensorFlow), so a store listing can mark a broken model file before anyone picks it.
    """
    path = Path(path)
    if not path.name.lower().endswith(".keras"):
        raise ModelFileError(f"{path.name}: only .keras files are accepted (not .h5, SavedModel, ...).")
    inspect_archive(_read_bounded(path), label=path.name)


def _read_bounded(path: Path) -> bytes:
    label = path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelFileError(
                f"{label}: {size / 2**20:.1f} MB is over the {MAX_FILE_BYTES // 2**20} MB limit."
            )
        return path.read_bytes()
    except OSError as err:
        raise ModelFileError(f"{label}: cannot read the file: {err.strerror or err}") from err


def load_keras_bytes(data: bytes, *, label: str = "upload") -> keras.Model:
    """As `load_keras_file`, for the bytes of an uploaded file."""
    _check_keras_version()
    if not label.lower().endswith(".keras"):
        raise ModelFileError(f"{label}: only .keras files are accepted (not .h5, SavedModel, ...).")
    if len(data) > MAX_FILE_BYTES:
        raise ModelFileError(
            f"{label}: {len(data) / 2**20:.1f} MB is over the {MAX_FILE_BYTES // 2**20} MB limit."
        )
    inspect_archive(data, label=label)
    import keras

    with tempfile.TemporaryDirectory(prefix="mnist-mlp-load-") as folder:
        copy = Path(folder) / "model.keras"
        copy.write_bytes(data)
        try:
            model = keras.saving.load_model(copy, compile=True, safe_mode=True)
        except Exception as err:  # Keras raises many types for a bad file; all mean "refused"
            raise ModelFileError(f"{label}: Keras could not load it: {_first_line(err)}") from err
    check_model(model, label=label)
    return model


def inspect_archive(data: bytes, *, label: str = "upload") -> dict[str, Any]:
    """The model config from a .keras archive, after checking members, sizes and classes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise ModelFileError(f"{label}: not a .keras file (not a zip archive, or truncated).") from err
    with archive:
        members = archive.infolist()
        names = {member.filename for member in members}
        unexpected = sorted(names - ALLOWED_MEMBERS)
        if unexpected:
            raise ModelFileError(f"{label}: unexpected files in the archive: {unexpected[:5]}.")
        missing = sorted({"config.json", "model.weights.h5"} - names)
        if missing:
            raise ModelFileError(f"{label}: the archive lacks {missing}; it is not a Keras model.")
        if len(members) != len(names):
            raise ModelFileError(f"{label}: the archive holds duplicate members.")
        if sum(member.file_size for member in members) > MAX_UNCOMPRESSED_BYTES:
            raise ModelFileError(f"{label}: the archive unpacks to more than the size limit.")
        config_info = archive.getinfo("config.json")
        if config_info.file_size > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{label}: config.json is implausibly large for an MLP.")
        try:
            config = json.loads(archive.read(config_info))
            archive.testzip()
        except CORRUPT_ARCHIVE_ERRORS as err:
            raise ModelFileError(f"{label}: the archive is corrupt: {_first_line(err)}") from err
    try:
        check_config(config, label=label)
    except (AttributeError, TypeError, RecursionError) as err:  # a config of unexpected types or depth
        raise ModelFileError(f"{label}: config.json is not a Keras model config: {_first_line(err)}") from err
    return config


def check_config(config: Any, *, label: str = "upload") -> None:
    """Refuse any config that is not a plain Keras MLP made of allowed classes."""
    if not isinstance(config, dict) or config.get("class_name") not in ALLOWED_MODELS:
        kind = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise ModelFileError(f"{label}: the model is a {kind!r}; expected a Functional or Sequential.")
    layers = config.get("config", {}).get("layers", [])
    for layer in layers:
        name = layer.get("class_name") if isinstance(layer, dict) else None
        if name not in ALLOWED_LAYERS:
            raise ModelFileError(
                f"{label}: layer type {name!r} is not allowed; an MLP needs only "
                f"{', '.join(sorted(ALLOWED_LAYERS))}."
            )
    top_level = {id(config), *map(id, layers)}  # the model and its layers, checked above
    for node in _walk(config):
        class_name = node.get("class_name")
        module = node.get("module")
        registered = node.get("registered_name")
        if class_name in FORBIDDEN_CLASSES:
            raise ModelFileError(f"{label}: {class_name!r} objects can run code; refused.")
        if module is not None and not (module == "keras" or str(module).startswith("keras.")):
            raise ModelFileError(f"{label}: refers to code outside Keras ({module!r}); refused.")
        if isinstance(registered, str) and ">" in registered:
            raise ModelFileError(f"{label}: uses the custom object {registered!r}; refused.")
        if "class_name" in node and id(node) not in top_level and class_name not in ALLOWED_NESTED:
            raise ModelFileError(
                f"{label}: holds a {class_name!r} object, which a plain MLP does not need; refused."
            )


def check_model(model: keras.Model, *, label: str = "upload") -> None:
    """The model must take (n, 28, 28) images and return (n, 10) probabilities."""
    input_shape = tuple(model.input_shape)
    output_shape = tuple(model.output_shape)
    if input_shape[1:] != IMAGE_SHAPE:
        raise ModelFileError(
            f"{label}: the model takes inputs of shape {input_shape}; expected (None, 28, 28)."
        )
    if output_shape[1:] != (NUM_CLASSES,):
        raise ModelFileError(
            f"{label}: the model outputs shape {output_shape}; expected (None, 10) class scores."
        )
    probe = np.random.default_rng(0).random((4, *IMAGE_SHAPE), dtype=np.float32)
    outputs = np.asarray(model(probe, training=False))
    if not (np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1, atol=1e-3)):
        raise ModelFileError(f"{label}: the model's outputs are not probabilities (no softmax).")


def _check_keras_version() -> None:
    import keras

    found = tuple(int(part) for part in keras.__version__.split(".")[:3] if part.isdigit())
    if found < MIN_KERAS_VERSION:
        wanted = ".".join(map(str, MIN_KERAS_VERSION))
        raise ModelFileError(
            f"Keras {keras.__version__} lacks known safe_mode fixes; install keras>={wanted}."
        )


def _walk(node: Any):
    """Every dict inside a JSON value, depth first."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__
