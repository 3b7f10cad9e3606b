"""Tests for mnist_mlp.unsure: calibrated distances and the verdict, on a trained model and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_mlp import explain, neighbours, unsure


@pytest.fixture(scope="module")
def pixel_index(digits):
    return neighbours.pixel_index(digits.x_train, digits.y_train)


def test_unsure_for_a_low_top_probability_or_an_unfamiliar_image(trained, digits, pixel_index):
    index = neighbours.build_index(explain.features(trained.model, digits.x_train), digits.y_train)
    calibration = unsure.calibrate(index, explain.features(trained.model, digits.x_test))
    assert calibration.count == 1000 and 0 < calibration.typical < calibration.limit
    pixel_calibration = unsure.calibrate(pixel_index, neighbours.pixel_vectors(digits.x_test))

    def distances(image):
        seen = explain.explain(trained.model, image).features
        return [
            unsure.Distance("in its pixels", _nearest(pixel_index, neighbours.pixel_vectors(image[None])[0]),
                             pixel_calibration),
            unsure.Distance("as the model sees it", _nearest(index, seen), calibration),
        ]  # fmt: skip

    familiar = distances(digits.x_train[0])
    assert familiar[0].distance == 0  # pixels are searched as stored, exactly
    assert familiar[1].distance == pytest.approx(0, abs=0.01 * familiar[1].calibration.typical)  # float16
    sure = unsure.verdict(np.eye(10)[3] * 0.9 + 0.01, familiar)
    assert not sure.unsure and sure.reason == ""

    guess = unsure.verdict(np.full(10, 0.1) + np.eye(10)[2] * 0.35, familiar)
    assert guess.unsure and guess.reason == "The model is only 45% sure (below 60%): treat it as a guess."

    noise = distances(np.random.default_rng(0).uniform(0, 1, (28, 28)).astype(np.float32))
    assert noise[0].unfamiliar, "uniform noise is far from every digit's pixels"
    unfamiliar = unsure.verdict(np.eye(10)[0], noise)
    assert unfamiliar.unsure and "looks unlike the training images in its pixels" in unfamiliar.reason
    assert unfamiliar.distances == tuple(noise)


def test_the_unsure_reason_gives_the_distance_against_the_typical_one():
    calibration = unsure.Calibration(typical=2.0, limit=3.0, percentile=99.0, count=1000)
    far = unsure.Distance("as the model sees it", 5.0, calibration)
    assert unsure.verdict(np.eye(10)[1], [far]).reason == (
        "It looks unlike the training images as the model sees it: the nearest is 5.00 away, "
        "2.5x the typical 2.00 and farther than for 99% of test images."
    )
    assert not unsure.verdict(np.eye(10)[1], [unsure.Distance("x", 3.0, calibration)]).unsure


def _nearest(index: neighbours.NeighbourIndex, query: np.ndarray) -> float:
    return float(neighbours.nearest(index, query, count=1).distances[0])


def test_the_verdict_refuses_probabilities_it_cannot_read():
    for bad in (np.full(10, np.nan), np.zeros(0), np.ones(9) / 9):
        with pytest.raises(unsure.UnsureError, match="10 finite class probabilities"):
            unsure.verdict(bad)
