"""Tests for tests.canvas (a test helper): rendered digits land where asked, in the canvas's colours."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_mlp import preprocess
from tests.canvas import bitmaps, render_on_canvas
from tests.conftest import mnist_digits

CANVAS_SIZE = 280


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"height": 300, "top": 0, "left": 0}, "fit on the canvas"),
        ({"height": 100, "top": 200, "left": 0}, "fit on the canvas"),
        ({"height": 0, "top": 0, "left": 0}, "fit on the canvas"),
        ({"height": 100.5, "top": 0, "left": 0}, "integer"),
        ({"height": 100, "top": 0, "left": 0, "background": "red"}, "background"),
        ({"height": 100, "top": 0, "left": 0, "ink": (256, 0, 0)}, "ink"),
        ({"height": 100, "top": 0, "left": 0, "background": "black", "ink": (0, 0, 0)}, "ink"),
    ],
)
def test_render_on_canvas_checks_its_arguments(arguments: dict, message: str) -> None:
    digit = mnist_digits()[0][0]
    with pytest.raises(ValueError, match=message):
        render_on_canvas(digit, **arguments)


def test_render_on_canvas_rejects_wrong_digits() -> None:
    with pytest.raises(ValueError, match="shape=\\(784,\\)"):
        render_on_canvas(np.zeros(784, np.uint8), height=100, top=0, left=0)
    with pytest.raises(ValueError, match="dtype=float64"):
        render_on_canvas(np.zeros((28, 28)), height=100, top=0, left=0)
    with pytest.raises(ValueError, match="all-zero"):
        render_on_canvas(np.zeros((28, 28), np.uint8), height=100, top=0, left=0)


def test_render_on_canvas_draws_like_the_canvas() -> None:
    digit = mnist_digits()[0][0]
    canvas = render_on_canvas(digit, height=100, top=20, left=30)
    assert canvas.shape == (CANVAS_SIZE, CANVAS_SIZE, 4) and canvas.dtype == np.uint8
    rows = np.flatnonzero(canvas[..., 3].any(axis=1))
    assert (rows[0], rows[-1] + 1) == (20, 120)
    assert np.flatnonzero(canvas[..., 3].any(axis=0))[0] == 30
    white = render_on_canvas(digit, height=100, top=20, left=30, background="white", ink=(0, 0, 0))
    assert np.all(white[..., 3] == 255)
    np.testing.assert_array_equal(255 - white[..., 0], canvas[..., 3])


def test_bitmaps_keep_the_picture():
    digit = mnist_digits()[0][:1]
    (canvas,) = bitmaps(digit, seed=0)
    prepared = preprocess.to_mnist(canvas)
    assert np.corrcoef(prepared.ravel(), preprocess.to_mnist(digit[0]).ravel())[0, 1] > 0.9
