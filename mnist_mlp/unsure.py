"""When to say "Unsure": a low top probability, or an image farther from every training image
than nearly all test images are, in pixels or as the model sees it.

The distances come from `neighbours`; each space is calibrated once on test images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mnist_mlp import neighbours
from mnist_mlp.model import NUM_CLASSES

UNSURE_PROBABILITY = 0.6  # below this top probability the answer is called a guess
UNSURE_PERCENTILE = 99.0  # farther from the training set than this share of test images: unfamiliar
CALIBRATION_IMAGES = 1000  # test images used to learn what "typical" distance means


class UnsureError(ValueError):
    """Calibration or verdict inputs that cannot be read; says what was expected."""


@dataclass(frozen=True)
class Calibration:
    """How far test images lie from their nearest training image, in one index's space."""

    typical: float  # the median distance
    limit: float  # the UNSURE_PERCENTILE-th percentile: beyond it an image looks unfamiliar
    percentile: float
    count: int  # test images measured


@dataclass(frozen=True)
class Distance:
    """How far one image lies from its nearest training image in one space, against the test set."""

    space: str  # for people, e.g. "in its pixels", "as the model sees it (its last hidden layer)"
    distance: float
    calibration: Calibration

    @property
    def unfamiliar(self) -> bool:
        return self.distance > self.calibration.limit


@dataclass(frozen=True)
class Verdict:
    unsure: bool
    reason: str  # why, for a person; "" when sure
    top_probability: float
    distances: tuple[Distance, ...]


def calibrate(
    index: neighbours.NeighbourIndex,
    test_vectors: np.ndarray,
    percentile: float = UNSURE_PERCENTILE,
    seed: int = 0,
) -> Calibration:
    """Typical nearest-training distances of (up to CALIBRATION_IMAGES of) the test vectors (m, d)."""
    test_vectors = np.asarray(test_vectors, np.float32)
    if len(test_vectors) == 0 or not 0 < percentile <= 100:
        raise UnsureError(
            f"Expected test vectors and a percentile in (0, 100]. Received: {len(test_vectors)} vectors, "
            f"percentile={percentile!r}."
        )
    if len(test_vectors) > CALIBRATION_IMAGES:
        chosen = np.random.default_rng(seed).choice(len(test_vectors), CALIBRATION_IMAGES, replace=False)
        test_vectors = test_vectors[chosen]
    distances = neighbours.nearest_distances(index, test_vectors)
    return Calibration(
        float(np.median(distances)), float(np.percentile(distances, percentile)), percentile, len(distances)
    )


def verdict(
    probabilities: np.ndarray, distances: Sequence[Distance] = (), min_probability: float = UNSURE_PROBABILITY
) -> Verdict:
    """Unsure when the top of the (10,) probabilities is below `min_probability`, or when the image
    lies farther from every training image, in any of the spaces measured, than its calibration's
    limit (farther than nearly all test images do)."""
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.shape != (NUM_CLASSES,) or not np.isfinite(probabilities).all():
        raise UnsureError(
            f"Expected 10 finite class probabilities. Received: shape={probabilities.shape}, "
            f"finite={bool(np.isfinite(probabilities).all())}."
        )
    top = float(np.max(probabilities))
    reasons = []
    if top < min_probability:
        reasons.append(f"the model is only {top:.0%} sure (below {min_probability:.0%}): treat it as a guess")
    for far in (d for d in distances if d.unfamiliar):
        typical = far.calibration.typical
        reasons.append(
            f"it looks unlike the training images {far.space}: the nearest is {far.distance:.2f} away, "
            f"{far.distance / max(typical, 1e-12):.1f}x the typical {typical:.2f} and farther than for "
            f"{far.calibration.percentile:g}% of test images"
        )
    text = "; ".join(reasons)
    return Verdict(bool(reasons), text[:1].upper() + text[1:] + "." if text else "", top, tuple(distances))
