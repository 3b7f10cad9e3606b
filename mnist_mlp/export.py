"""Take a model away: a TensorFlow SavedModel and a TensorFlow Lite file that take raw uint8 images.

The division by 255 that training applies is built into both, so a user feeds pixels as they are.
An export is a folder: `saved_model/`, `model.tflite`, `export.json` (the contract) and `README.txt`.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_mlp import store
from mnist_mlp.model import IMAGE_SHAPE, NUM_CLASSES

if TYPE_CHECKING:
    import keras

FORMATS = ("savedmodel", "tflite", "both")
SAVED_MODEL_DIR, TFLITE_FILE = "saved_model", "model.tflite"
INFO_FILE, README_FILE = "export.json", "README.txt"
SIGNATURE, INPUT_NAME = "serving_default", "images"
EXPORT_VERSION = 1
PROBE_IMAGES = 64  # random images (plus an all-black and an all-white one) each export is checked on
TOLERANCE = {"saved_model": 1e-5, "tflite": 1e-4}  # largest probability difference from Keras allowed


class ExportError(ValueError):
    """An export that cannot be made as asked (bad path, folder taken, model of the wrong shape...)."""


@dataclass(frozen=True)
class Export:
    """Where an export landed and how closely each file agrees with the Keras model."""

    folder: Path
    saved_model: Path | None  # the SavedModel folder, when that format was asked for
    tflite: Path | None  # the .tflite file, when that format was asked for
    max_difference: dict[str, float]  # format -> largest probability difference on the probe images


def export(
    source: store.LoadedModel | keras.Model,
    out: str | os.PathLike,
    *,
    formats: str = "both",
    overwrite: bool = False,
    class_names: list[str] | None = None,
) -> Export:
    """Export a model to the folder `out`: all of it lands, or nothing changes.

    Both files take `images`: (batch, 28, 28) uint8 in 0..255, ink white on black, any batch size,
    and return `classes`: (batch,) int32 in 0..9 and `probabilities`: (batch, 10) float32. Each is
    loaded back and checked against the Keras model before the folder is renamed into place.

    Args:
        source: a stored model (its card names the classes and goes into export.json) or a Keras
            model mapping (n, 28, 28) float32 in [0, 1] to (n, 10) probabilities.
        out: the export folder; its parent folders are made when missing.
        formats: "savedmodel", "tflite" or "both".
        overwrite: replace an earlier export at `out` (never a folder that is not an export).
        class_names: names of classes 0..9; default the card's, else the digits.
    """
    if formats not in FORMATS:
        raise ExportError(f"Unknown export format {formats!r}. Expected one of: {', '.join(FORMATS)}.")
    card = source.card if isinstance(source, store.LoadedModel) else None
    network = source.model if isinstance(source, store.LoadedModel) else source
    names = _class_names(class_names if class_names is not None else card.class_names if card else None)
    final = check_folder(out, overwrite)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.parent / f".exporting-{uuid.uuid4().hex}"
        temporary.mkdir()
    except OSError as err:
        raise ExportError(f"Cannot write to {final.parent}: {err.strerror or err}.") from err
    try:
        differences = _write(network, temporary, formats, names, card)
        _move_into_place(temporary, final, overwrite)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return Export(
        final,
        final / SAVED_MODEL_DIR if formats != "tflite" else None,
        final / TFLITE_FILE if formats != "savedmodel" else None,
        differences,
    )


def zip_folder(folder: str | os.PathLike, root_name: str | None = None) -> bytes:
    """The folder's files as zip bytes, under one top folder (`root_name`, default its own name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExportError(f"{folder}: no such export folder.")
    root = store.check_name(root_name) if root_name is not None else folder.name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{root}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def export_zip(source: store.LoadedModel | keras.Model, name: str, formats: str = "both") -> bytes:
    """An export of the model as zip bytes, ready to download, with `name` as its top folder."""
    import tempfile

    store.check_name(name)
    with tempfile.TemporaryDirectory(prefix="mnist-mlp-export-") as folder:
        done = export(source, Path(folder) / name, formats=formats)
        return zip_folder(done.folder, name)


def _class_names(names: list[str] | None) -> list[str]:
    names = [str(n) for n in names] if names else [str(digit) for digit in range(NUM_CLASSES)]
    if len(names) != NUM_CLASSES:
        raise ExportError(f"Expected {NUM_CLASSES} class names; received {len(names)}: {names!r}.")
    return names


def check_folder(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """The absolute export folder for `out` if an export may be written there; ExportError if not.

    A missing or empty folder is fine; an earlier export only with `overwrite`; anything else never.
    """
    if not str(out).strip():
        raise ExportError("The export folder is empty: pass a folder such as exports/my-model.")
    final = Path(out).expanduser().absolute()
    models = store.store_dir().expanduser().resolve()
    if models == final.resolve() or models in final.resolve().parents:
        raise ExportError(
            f"{out} is inside the model store ({models}), where an export would be listed as a broken "
            "model. Choose a folder outside it."
        )
    for parent in final.parents:
        if parent.exists() and not parent.is_dir():
            raise ExportError(f"{parent} is a file, so {out} cannot be made. Choose another path.")
    if final.exists() and not final.is_dir():
        raise ExportError(f"{out} is a file; an export is a folder. Choose another path.")
    if final.is_dir() and any(final.iterdir()):
        if not (final / INFO_FILE).is_file():
            raise ExportError(f"{out} holds files that are not an export, so it is never replaced.")
        if not overwrite:
            raise ExportError(f"{out} already holds an export. Choose another folder, or overwrite it.")
    return final


def _write(network, folder: Path, formats: str, names: list[str], card: store.Card | None) -> dict:
    """Write the chosen files into `folder`, check each against Keras, and add the contract files."""
    probe = _probe_images()  # (66, 28, 28) uint8
    expected = _keras_probabilities(network, probe)  # (66, 10)
    if not np.isfinite(expected).all():
        raise ExportError("The model gives NaN or infinite probabilities; nothing was written.")
    try:
        results = _write_and_run(network, folder, formats, probe)
    except OSError:
        raise
    except Exception as err:  # TensorFlow raises many types from saving and converting
        raise ExportError(f"TensorFlow could not export the model: {_first_line(err)}") from err
    differences = {}
    clear = np.diff(np.sort(expected, axis=1)[:, -2:], axis=1)[:, 0] > 1e-3  # no near-tie for first
    for kind, outputs in results.items():
        differences[kind] = float(np.abs(outputs["probabilities"] - expected).max())
        classes_agree = np.array_equal(outputs["classes"][clear], expected.argmax(axis=1)[clear])
        if not differences[kind] <= TOLERANCE[kind] or not classes_agree:  # `not <=` also catches NaN
            raise ExportError(
                f"The {kind} export disagrees with the Keras model (largest probability difference "
                f"{differences[kind]:.2g}, allowed {TOLERANCE[kind]:g}); nothing was written."
            )
    if formats == "tflite":
        del differences["saved_model"]
    info = _contract(names, card, formats, differences, len(probe))
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
    (folder / README_FILE).write_text(_readme(info), encoding="utf-8")
    return differences


def _keras_probabilities(network, images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    try:
        probabilities = np.asarray(network(tf.constant(images, tf.float32) / 255.0, training=False))
    except Exception as err:  # Keras raises several types for an input it cannot take
        raise ExportError(f"The model does not take (n, 28, 28) images: {_first_line(err)}") from err
    if probabilities.shape != (len(images), NUM_CLASSES):
        raise ExportError(
            f"The model maps (n, 28, 28) images to {probabilities.shape[1:]}, expected ({NUM_CLASSES},)."
        )
    return probabilities


def _write_and_run(network, folder: Path, formats: str, probe: np.ndarray) -> dict[str, dict]:
    """Write the SavedModel (and the .tflite file), then run each as a user would on `probe`."""
    import tensorflow as tf

    saved_model = folder / SAVED_MODEL_DIR
    _write_saved_model(network, saved_model)
    served = tf.saved_model.load(str(saved_model)).signatures[SIGNATURE](**{INPUT_NAME: tf.constant(probe)})
    results = {"saved_model": {key: value.numpy() for key, value in served.items()}}
    if formats != "savedmodel":
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=[SIGNATURE])
        (folder / TFLITE_FILE).write_bytes(converter.convert())
        results["tflite"] = run_tflite(folder / TFLITE_FILE, probe)
    if formats == "tflite":
        shutil.rmtree(saved_model)  # only the intermediate of the .tflite file; still checked
    return results


def _write_saved_model(network, folder: Path) -> None:
    import keras
    import tensorflow as tf

    def serve(images):
        x = tf.cast(images, tf.float32) / 255.0  # as in training: (batch, 28, 28) float32 in [0, 1]
        probabilities = network(x, training=False)  # (batch, 10)
        return {
            "classes": tf.argmax(probabilities, axis=-1, output_type=tf.int32),
            "probabilities": probabilities,
        }

    # No archive.track(network): the endpoint finds the weights it uses, and tracking the model
    # as well would store every weight twice.
    archive = keras.export.ExportArchive()
    archive.add_endpoint("serve", serve, [tf.TensorSpec((None, *IMAGE_SHAPE), tf.uint8, INPUT_NAME)])
    archive.write_out(str(folder), verbose=False)  # "serve" is also saved as "serving_default"


def run_tflite(path: str | os.PathLike, images: np.ndarray) -> dict[str, np.ndarray]:
    """Run an exported .tflite file on (n, 28, 28) uint8 images: {"classes", "probabilities"}."""
    import tensorflow as tf

    with warnings.catch_warnings():  # "use ai_edge_litert": same interpreter, not installed here
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner(SIGNATURE)
    return runner(**{INPUT_NAME: np.ascontiguousarray(images, np.uint8)})


def _probe_images() -> np.ndarray:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (PROBE_IMAGES, *IMAGE_SHAPE), dtype=np.uint8)
    extremes = np.stack([np.zeros(IMAGE_SHAPE, np.uint8), np.full(IMAGE_SHAPE, 255, np.uint8)])
    return np.concatenate([noise, extremes])


def _contract(names: list[str], card, formats: str, differences: dict, probes: int) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    return {
        "export_version": EXPORT_VERSION,
        "model": card.name if card else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "files": {
            "saved_model": SAVED_MODEL_DIR if formats != "tflite" else None,
            "tflite": TFLITE_FILE if formats != "savedmodel" else None,
        },
        "signature": SIGNATURE,
        "input": {
            "name": INPUT_NAME,
            "dtype": "uint8",
            "shape": [None, *IMAGE_SHAPE],
            "meaning": "pixels 0..255, ink white (high) on a black (0) background, like MNIST; "
            "any batch size; the division by 255 is inside the model",
        },
        "outputs": {
            "classes": {"dtype": "int32", "shape": [None], "meaning": "index of the likeliest class"},
            "probabilities": {
                "dtype": "float32",
                "shape": [None, NUM_CLASSES],
                "meaning": "softmax over the classes; each row sums to 1",
            },
        },
        "class_names": names,
        "checked": {"probe_images": probes, "max_probability_difference_from_keras": differences},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "card": card.to_dict() if card else None,
    }


def _readme(info: dict[str, Any]) -> str:
    names = ", ".join(f"{index}={name}" for index, name in enumerate(info["class_names"]))
    return f"""Exported by mnist-mlp{f" from the model {info['model']!r}" if info["model"] else ""}.

Input  "images": uint8, shape (batch, 28, 28), pixels 0..255, ink white on a black background,
                 any batch size. Do not divide by 255: the model does it, as in training.
Output "classes": int32, shape (batch,), the likeliest class.
       "probabilities": float32, shape (batch, 10), one row per image, summing to 1.
Classes: {names}.
Files: {", ".join(f for f in info["files"].values() if f)}; export.json holds this contract and the
model's card. Checked against the Keras model on {info["checked"]["probe_images"]} images before writing.

SavedModel (Python, TensorFlow):
    import tensorflow as tf
    serve = tf.saved_model.load("{SAVED_MODEL_DIR}").signatures["{SIGNATURE}"]
    result = serve(images=tf.constant(images_uint8))  # result["classes"], result["probabilities"]

TensorFlow Lite (tf.lite.Interpreter, or ai_edge_litert.interpreter.Interpreter):
    interpreter = tf.lite.Interpreter(model_path="{TFLITE_FILE}")
    result = interpreter.get_signature_runner("{SIGNATURE}")(images=images_uint8)
"""


def _move_into_place(temporary: Path, final: Path, overwrite: bool) -> None:
    """Rename the finished export over `final`; an earlier export there is kept until this succeeds."""
    retired = None
    try:
        if final.exists():
            check_folder(final, overwrite)  # again: something may have landed there during the export
            retired = final.parent / f".replacing-{uuid.uuid4().hex}"
            final.rename(retired)
        temporary.rename(final)
    except OSError as err:
        if retired is not None and not final.exists():
            retired.rename(final)  # put the earlier export back
            retired = None
        raise ExportError(f"Cannot write the export to {final}: {err.strerror or err}.") from err
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)


def _first_line(err: BaseException, limit: int = 300) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:limit]
