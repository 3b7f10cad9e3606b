"""Tests for mnist_mlp.foreign: scribbles, shapes, letters and pen digits, reproducible and as asked."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from mnist_mlp import diskcache, foreign, preprocess
from tests.conftest import mnist_digits


def _ink_box(canvas: np.ndarray) -> tuple[int, int, int, int]:
    ink = canvas[..., 3] > 127
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1


def test_scribbles_are_reproducible_canvases_with_ink_that_to_mnist_reads():
    first = list(foreign.scribbles(5, seed=2))
    again = list(foreign.scribbles(5, seed=2))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], next(foreign.scribbles(1, seed=3)))
    for canvas in first:
        assert canvas.shape == (280, 280, 4) and canvas.dtype == np.uint8
        top, left, bottom, right = _ink_box(canvas)
        assert max(bottom - top, right - left) >= 40  # a drawing, not a tap
        assert preprocess.to_mnist(canvas) is not None


def test_letters_leave_out_those_shaped_like_digits():
    assert not set(foreign.LETTERS) & set("OoIlZzSsBbgq")
    assert set("AEFHKMNRWXYaehkmnprwxy") <= set(foreign.LETTERS)
    letters = list(foreign.letters(20, seed=0))
    assert {letter for letter, _ in letters} <= set(foreign.LETTERS)
    for _, canvas in letters:
        assert canvas.shape == (280, 280, 4) and preprocess.to_mnist(canvas) is not None


def test_a_glyph_fills_twenty_pixels_of_the_field_like_an_mnist_digit():
    glyph = foreign._glyph("H", foreign._font("DejaVuSans.ttf"))
    rows, columns = np.flatnonzero(glyph.max(axis=1) > 64), np.flatnonzero(glyph.max(axis=0) > 64)
    assert max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1 in (19, 20, 21)
    assert glyph[:, 14].max() > 200  # the H's crossbar passes the middle column


def test_pen_digits_follow_the_seed():
    digit = mnist_digits()[0][:1]
    first, again = (next(foreign.pen_digits(digit, seed=4)) for _ in range(2))
    assert np.array_equal(first, again)


def test_outliers_for_training_are_prepared_images_of_each_kind_and_reproducible():
    digits_model = foreign.outliers("mnist", 30, seed=1)
    assert digits_model.shape[1:] == (28, 28) and digits_model.dtype == np.uint8
    assert 27 <= len(digits_model) <= 30  # a canvas to_mnist finds blank is left out
    assert np.array_equal(digits_model, foreign.outliers("mnist", 30, seed=1))
    assert all(image.max() > 100 for image in digits_model)  # ink, stretched by to_mnist
    clothing_model = foreign.outliers("fashion_mnist", 20, seed=1)
    assert 18 <= len(clothing_model) <= 20
    with np.testing.assert_raises(ValueError):
        foreign.outliers("mnist", 2, seed=0)


def test_outliers_do_not_depend_on_how_many_cores_draw_them(monkeypatch):
    monkeypatch.setenv(diskcache.CACHE_ENV, "off")  # drawn each time
    monkeypatch.setattr(foreign, "OUTLIER_CHUNK", 4)  # 30 outliers: eight chunks, two worker processes
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to this process would warn: workers must draw
        in_workers = foreign.outliers("mnist", 30, seed=2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # drawn here, in turn
    np.testing.assert_array_equal(in_workers, foreign.outliers("mnist", 30, seed=2))


def test_outliers_are_drawn_once_and_read_back(monkeypatch):
    first = foreign.outliers("mnist", 20, seed=3)

    def no_drawing(*args):
        raise AssertionError("drawn again")

    monkeypatch.setattr(foreign, "_outliers", no_drawing)
    np.testing.assert_array_equal(foreign.outliers("mnist", 20, seed=3), first)
    with pytest.raises(AssertionError, match="drawn again"):
        foreign.outliers("mnist", 24, seed=3)
