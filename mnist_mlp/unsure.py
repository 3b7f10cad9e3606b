"""When to say "Unsure": the model's answer is a guess, or what it was shown is not of its kind.

Two scores, each with a limit set on validation images (never the test split):
- the top softmax probability (Hendrycks & Gimpel, 2017), low when the model hesitates. A model
  trained with outlier exposure (Hendrycks et al., 2019; `train.OUTLIER`) has learned to spread its
  probabilities evenly over scribbles, shapes, letters and pictures of other things, so this score
  catches most of what is not of its kind;
- the pixel residual off the training images' principal components, large when the ink lies where
  the training images have none (blobs, clutter), which a softmax can read confidently as a class.
The limits are set together so that a chosen share of validation images (FALSE_ALARM) is called
Unsure; an image past either limit is Unsure, with that limit as the reason. (A Mahalanobis distance
on the last hidden layer, Lee et al. 2018, was measured too: it caught no more and cried wolf more.)
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mnist_mlp.model import NUM_CLASSES, image_batch, predict

if TYPE_CHECKING:
    import keras

FALSE_ALARM = 0.02  # share of validation images called Unsure: the price of catching foreign input
PIXEL_COMPONENTS = 50  # principal components of the training pixels that the residual is taken off
SCORES = ("probability", "pixels")


class UnsureError(ValueError):
    """Detector or verdict inputs that cannot be read; says what was expected."""


@dataclass(frozen=True, eq=False)
class Detector:
    """What a model's training images look like, and where its Unsure limits lie; saved beside it."""

    pixel_mean: np.ndarray  # (784,) float32, mean training image, pixels in [0, 1]
    components: np.ndarray  # (k, 784) float32, orthonormal principal directions of the training pixels
    limits: np.ndarray  # (2,) float64, one per SCORES entry: beyond it, Unsure
    kind: str  # what the model reads, for people: "digit" or "piece of clothing" (data.ITEMS)

    def __post_init__(self) -> None:
        for array in (self.pixel_mean, self.components, self.limits):
            array.setflags(write=False)  # a model's detector is shared by every session of the app

    def to_bytes(self) -> bytes:
        """The detector as an .npz file's bytes (no pickles)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            pixel_mean=self.pixel_mean,
            components=self.components,
            limits=self.limits,
            kind=np.array(self.kind),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Detector:
        """Read `to_bytes` output, checking every array's shape; UnsureError when it does not fit."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                values = {key: archive[key] for key in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise UnsureError(f"Unreadable Unsure detector: {err}") from err
        expected = {"pixel_mean", "components", "limits", "kind"}
        if set(values) != expected:
            raise UnsureError(f"Expected detector arrays {sorted(expected)}. Received: {sorted(values)}.")
        components = values["components"]
        fits = (
            values["pixel_mean"].shape == (784,)
            and components.ndim == 2
            and components.shape[1] == 784
            and values["limits"].shape == (len(SCORES),)
            and values["kind"].dtype.kind == "U"
            and all(np.isfinite(v).all() for k, v in values.items() if k != "kind")
        )
        if not fits:
            shapes = {key: value.shape for key, value in values.items()}
            raise UnsureError(
                f"Expected a detector for 28x28 images and {len(SCORES)} scores. Received: {shapes}."
            )
        arrays = {k: v.astype(np.float32) for k, v in values.items() if k not in ("limits", "kind")}
        return cls(**arrays, limits=values["limits"].astype(np.float64), kind=str(values["kind"]))


@dataclass(frozen=True)
class Verdict:
    unsure: bool
    reason: str  # why, for a person; "" when sure
    top_probability: float


def fit(
    model: keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    *,
    kind: str,
    false_alarm: float = FALSE_ALARM,
) -> Detector:
    """Learn what the training images look like, then set the limits on validation images.

    Args:
        x_train: (n, 28, 28) uint8 or float in [0, 1], the model's training images; y_train (n,) labels
            (images labelled 10 and up, outlier exposure's images of no class, are left out).
        x_val: (m, 28, 28) validation images of the same kind, as the model will be shown them (for a
            digit model trained on pen strokes: originals and pen-stroke renders).
        kind: what the model reads, e.g. "digit".
        false_alarm: share of validation images to call Unsure, in (0, 0.5).
    """
    x_train, x_val = _pixels(x_train), _pixels(x_val)
    y_train = np.asarray(y_train).astype(int)
    if not 0 < false_alarm < 0.5 or len(x_val) < 10 or y_train.shape != (len(x_train),):
        raise UnsureError(
            "Expected a false-alarm share in (0, 0.5), at least 10 validation images and one label per "
            f"training image. Received: false_alarm={false_alarm!r}, {len(x_val)} validation images, "
            f"{len(y_train)} labels for {len(x_train)} images."
        )
    pixel_mean, components = _principal_components(x_train[y_train < NUM_CLASSES])  # outliers: no class
    unlimited = Detector(pixel_mean, components, np.full(len(SCORES), np.inf), kind)
    validation = scores(unlimited, model, x_val)  # (m, 2)
    return Detector(unlimited.pixel_mean, unlimited.components, _joint_limits(validation, false_alarm), kind)


def scores(detector: Detector, model: keras.Model, images: np.ndarray) -> np.ndarray:
    """(n, 2) float64 scores for (n, 28, 28) images, one column per SCORES entry; larger is stranger."""
    pixels = _pixels(images)
    result = np.zeros((len(pixels), len(SCORES)))
    result[:, 0] = 1 - predict(model, pixels).max(axis=1)
    flat = pixels.reshape(len(pixels), -1) - detector.pixel_mean
    residual = flat - (flat @ detector.components.T) @ detector.components
    result[:, 1] = np.linalg.norm(residual, axis=1)
    return result


def judge(detector: Detector, model: keras.Model, images: np.ndarray) -> list[Verdict]:
    """One Verdict per image of (n, 28, 28), with the reasons a person can read."""
    found = scores(detector, model, images)  # checks the images
    tops = 1 - found[:, 0]
    return [_verdict(row, float(top), detector) for row, top in zip(found, tops, strict=True)]


def flags(detector: Detector, found: np.ndarray) -> np.ndarray:
    """(n,) bool, Unsure, for (n, 2) `scores`."""
    return (np.asarray(found) > detector.limits).any(axis=1)


def _verdict(row: np.ndarray, top: float, detector: Detector) -> Verdict:
    kind = detector.kind
    over = row > detector.limits
    reasons = []
    if over[1]:
        reasons.append(
            f"it does not look like a {kind}: its ink lies where no {kind} the model learned from has any"
        )
    if over[0]:
        reasons.append(f"the model is only {top:.0%} sure: this may not be a {kind}, or not one it can read")
    text = "; ".join(reasons)
    return Verdict(bool(reasons), text[:1].upper() + text[1:] + "." if text else "", top)


def _principal_components(images: np.ndarray, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """The mean (784,) and the top PIXEL_COMPONENTS principal directions (k, 784) of (n, 28, 28) images.

    From the 784x784 scatter matrix, summed a chunk at a time: a few MB where an SVD of the whole
    set would hold it twice in float64 (about 1 GB for full MNIST with its pen strokes).
    """
    flat = images.reshape(len(images), -1)
    mean = flat.mean(axis=0, dtype=np.float64)
    scatter = np.zeros((flat.shape[1], flat.shape[1]))
    for start in range(0, len(flat), chunk):
        centred = flat[start : start + chunk].astype(np.float64) - mean
        scatter += centred.T @ centred
    _, vectors = np.linalg.eigh(scatter)  # ascending eigenvalues
    return mean.astype(np.float32), np.ascontiguousarray(vectors[:, ::-1][:, :PIXEL_COMPONENTS].T, np.float32)


def _joint_limits(validation: np.ndarray, false_alarm: float) -> np.ndarray:
    """One percentile for every score, chosen so that `false_alarm` of the rows pass some limit."""
    low, high = 100 * (1 - false_alarm), 100.0  # each score alone flags at most false_alarm
    for _ in range(40):  # bisection on the shared percentile
        middle = (low + high) / 2
        limits = np.percentile(validation, middle, axis=0)
        if (validation > limits).any(axis=1).mean() > false_alarm:
            low = middle
        else:
            high = middle
    return np.percentile(validation, high, axis=0)


def _pixels(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) float32 in [0, 1] from uint8 or float images; UnsureError for other values."""
    images = image_batch(images)
    pixels = images.astype(np.float32) / 255 if images.dtype == np.uint8 else images.astype(np.float32)
    if not np.isfinite(pixels).all() or (pixels.size and (pixels.min() < 0 or pixels.max() > 1)):
        raise UnsureError("Expected pixels in [0, 1] (or uint8 0..255). Received values outside, or NaN.")
    return pixels
