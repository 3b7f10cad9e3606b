"""Hostile and odd files for tests: model archives that must be refused, images that must be handled.

Shared by the library's tests (test_safety, test_images) and the pages' (tests/app), so that the
file a page is given is the one the library was tested on.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

BOMB_PIXELS = 6000  # a side: 36 megapixels in a PNG of a few kB


# ---- Model files --------------------------------------------------------------------------------


def rewrite(archive_bytes: bytes, **members: bytes | None) -> bytes:
    """A copy of a .keras archive with members replaced, added, or (None) removed."""
    source = zipfile.ZipFile(io.BytesIO(archive_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in members:
                target.writestr(info, source.read(info))
        for name, content in members.items():
            if content is not None:
                target.writestr(name, content)
    return out.getvalue()


def lambda_model(marker: Path, folder: Path) -> bytes:
    """A .keras file whose Lambda layer creates `marker` when it runs; `marker` is absent on return."""
    import keras

    inputs = keras.Input((28, 28))
    x = keras.layers.Flatten()(inputs)
    writes_a_file = eval(f"lambda t: t + 0 * len(open({str(marker)!r}, 'w').name)")  # no closure
    x = keras.layers.Lambda(writes_a_file)(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    path = folder / "hostile.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink()  # building the model ran the lambda once; loading must not run it again
    return path.read_bytes()


def zip_bomb(good_bytes: bytes, unpacked_bytes: int) -> bytes:
    """`good_bytes` (a .keras archive) with weights that unpack to `unpacked_bytes` of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        source = zipfile.ZipFile(io.BytesIO(good_bytes))
        for info in source.infolist():
            if info.filename != "model.weights.h5":
                target.writestr(info.filename, source.read(info))
        target.writestr("model.weights.h5", b"\0" * unpacked_bytes)
    return out.getvalue()


def flat_input_model(folder: Path) -> bytes:
    """A .keras softmax over (n, 784) vectors: a fine model, of the wrong input shape for ours."""
    import keras

    path = folder / "flat.keras"
    keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")]).save(path)
    return path.read_bytes()


# ---- Images -------------------------------------------------------------------------------------


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def decompression_bomb() -> bytes:
    """A PNG of under 100 kB that decodes to 36 megapixels."""
    return encoded(Image.new("L", (BOMB_PIXELS, BOMB_PIXELS), 0), "PNG")


def sixteen_bit(pixels: np.ndarray) -> bytes:
    """`pixels` (h, w) uint8 as a 16-bit greyscale PNG, each value v stored as v * 257 (255 -> 65535)."""
    return encoded(Image.fromarray(pixels.astype(np.uint16) * 257), "PNG")
