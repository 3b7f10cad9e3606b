"""Reading image files that people upload or name: any common format in, a plain array out.

Decoding is bounded (bytes and pixels) so that a decompression bomb or a huge scan is refused
with a message instead of exhausting memory.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np

MAX_IMAGE_BYTES = 10 * 2**20
MAX_IMAGE_PIXELS = 25_000_000  # a 5000x5000 scan; far beyond any digit


class ImageError(ValueError):
    """An image that cannot be read, with the reason."""


def read_image(source: str | os.PathLike | bytes, *, label: str | None = None) -> np.ndarray:
    """Decode an image file (PNG, JPEG, GIF, BMP, TIFF, WebP...) to a uint8 array.

    Returns (H, W, 4) RGBA when the image has transparency, else (H, W, 3) RGB; an animation
    gives its first frame, 16-bit images are scaled to 8 bits, CMYK and palettes become RGB.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, bytes):
        data, label = source, label or "upload"
    else:
        path = Path(source)
        label = label or path.name
        try:
            if path.stat().st_size > MAX_IMAGE_BYTES:
                raise ImageError(f"{label}: the file is over the {MAX_IMAGE_BYTES // 2**20} MB limit.")
            data = path.read_bytes()
        except OSError as err:
            raise ImageError(f"{label}: cannot read the file: {err.strerror or err}") from err
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"{label}: the file is over the {MAX_IMAGE_BYTES // 2**20} MB limit.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageError(
                        f"{label}: {width}x{height} pixels is too large (limit {MAX_IMAGE_PIXELS:,} pixels)."
                    )
                image.seek(0)
                return _to_array(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"{label}: refused as a decompression bomb: {err}") from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise ImageError(f"{label}: not a readable image ({err}).") from err


def _to_array(image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 255.0)
        gray = np.clip(values / top * 255, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.uint8)
