"""Reading ink out of an image: any grey, RGB or RGBA image, on any background, as ink intensity.

Canvases come transparent, black or white and photos on noisy paper; `preprocess` only sees ink.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

NOISE_MARGIN = 3.0  # ink must differ from the background by this many border deviations


def as_uint8(image: np.ndarray | Image.Image) -> np.ndarray:
    """Validate an image and return it as uint8 (H, W, C) with C in {1, 3, 4}.

    Args:
        image: grayscale (H, W), RGB (H, W, 3) or RGBA (H, W, 4); uint8, or float in [0, 1];
            or a PIL image of any mode.

    Raises:
        ValueError: for other shapes or dtypes, or float values outside [0, 1].
    """
    if isinstance(image, Image.Image):
        if "A" in image.getbands() or "transparency" in image.info:
            image = image.convert("RGBA")
        elif len(image.getbands()) == 1 and image.mode != "P":
            image = image.convert("L")
        else:
            image = image.convert("RGB")  # palette, CMYK, YCbCr, ...
    pixels = np.asarray(image)
    shape_ok = pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))
    dtype_ok = pixels.dtype == np.uint8 or np.issubdtype(pixels.dtype, np.floating)
    if not (shape_ok and dtype_ok and pixels.size > 0):
        raise ValueError(
            "Expected an image array of shape (H, W), (H, W, 3) or (H, W, 4) with dtype uint8 "
            f"(or float in [0, 1]). Received: shape={pixels.shape}, dtype={pixels.dtype}. "
            "Pass st_canvas(...).image_data or a grayscale/RGB/RGBA image; squeeze a single "
            "channel with image[..., 0]."
        )
    if pixels.dtype != np.uint8:
        if not (np.all(np.isfinite(pixels)) and pixels.min() >= 0 and pixels.max() <= 1):
            raise ValueError(
                "Expected float image values in [0, 1]. Received: values outside [0, 1] or not "
                f"finite, shape={pixels.shape}, dtype={pixels.dtype}. "
                "Divide 0..255 images by 255, or pass them as uint8."
            )
        pixels = np.rint(pixels * 255).astype(np.uint8)
    return pixels.reshape(*pixels.shape[:2], -1)


def ink_intensity(pixels: np.ndarray, *, min_contrast: float) -> np.ndarray | None:
    """Ink intensity (H, W) float32 in [0, 1] from (H, W, C) uint8, or None if no ink.

    The background is the border's typical colour (or transparency); ink is whatever differs
    from it, stretched so the strongest ink is 1. Ink that stands out from the background's
    noise by less than `min_contrast` (0..1) counts as nothing drawn: None.
    """
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])  # (n, C)
    channels = pixels.shape[2]
    if channels == 4 and median(border[:, 3]) < 128:
        difference = pixels[..., 3]  # transparent background: alpha is the ink
        border_difference = border[:, 3]
    else:
        # Ink is whatever differs from the border's typical colour, in any channel, so dark
        # ink on paper, light ink on black and coloured ink all count.
        colour_channels = min(channels, 3)
        paper = median(border[:, :colour_channels])
        difference = _channel_distance(pixels, paper, colour_channels)
        border_difference = _channel_distance(border[None], paper, colour_channels)[0]
    # Photos have noisy paper: ink must stand out from the border's own variation.
    floor = NOISE_MARGIN * float(median(border_difference)) / 255
    peak = float(difference.max()) / 255
    if peak - floor < min_contrast:
        return None
    # Stretch floor..peak to 0..1; in place, as this runs on every canvas pixel.
    ink = difference.astype(np.float32)
    ink *= np.float32(1 / (255 * (peak - floor)))
    ink -= np.float32(floor / (peak - floor))
    return np.clip(ink, 0, 1, out=ink)


def median(values: np.ndarray) -> np.ndarray:
    """Lower median along the first axis, same dtype; a partition, cheaper than np.median."""
    middle = (len(values) - 1) // 2
    return np.partition(values, middle, axis=0)[middle]


def _channel_distance(pixels: np.ndarray, paper: np.ndarray, channels: int) -> np.ndarray:
    """Largest per-channel |pixel - paper| as (H, W) uint8.

    Channel by channel, as numpy is slow at reducing a short last axis; black and white paper
    (most canvases) take a cheaper path.
    """
    if channels == 3 and np.all(paper == paper[0]) and paper[0] in (0, 255):
        red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        if paper[0] == 0:
            return np.maximum(np.maximum(red, green), blue)
        return 255 - np.minimum(np.minimum(red, green), blue)
    distance = None
    for channel in range(channels):
        values = pixels[..., channel]
        step = np.maximum(values, paper[channel]) - np.minimum(values, paper[channel])
        distance = step if distance is None else np.maximum(distance, step)
    return distance
