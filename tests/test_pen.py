"""Tests for mnist_mlp.pen: a digit's centre line traced into strokes and drawn again with one pen."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from mnist_mlp import datasets, pen, preprocess
from tests.conftest import mnist_digits


def _ring(size: int = 28, radius: float = 8.0, width: float = 2.5) -> np.ndarray:
    """A white ring on black: an "0" whose centre line is a known circle."""
    rows, columns = np.mgrid[0:size, 0:size]
    distance = np.hypot(rows - 13.5, columns - 13.5)
    return (np.clip(width / 2 - np.abs(distance - radius) + 0.5, 0, 1) * 255).astype(np.uint8)


def _bar() -> np.ndarray:
    """A vertical bar, rows 4..23 and columns 13..14: a "1" whose centre line is column 13.5."""
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 13:15] = 255
    return digit


def test_a_ring_is_traced_as_one_closed_stroke_on_its_centre_line():
    strokes = pen.trace(_ring())
    assert len(strokes) == 1
    radii = np.hypot(strokes[0][:, 0] - 13.5, strokes[0][:, 1] - 13.5)
    assert np.abs(radii - 8.0).max() < 0.6
    assert np.linalg.norm(strokes[0][0] - strokes[0][-1]) < 1.0  # closed


def test_a_bar_is_traced_as_one_straight_stroke_end_to_end():
    (stroke,) = pen.trace(_bar())
    assert np.abs(stroke[:, 1] - 13.5).max() < 0.3
    assert stroke[:, 0].min() < 6 and stroke[:, 0].max() > 21  # most of its 20 px length


def test_a_cross_is_traced_as_two_strokes_that_go_straight_through():
    digit = np.zeros((28, 28), np.uint8)
    digit[13:15, 4:24] = 255
    digit[4:24, 13:15] = 255
    strokes = pen.trace(digit)
    assert len(strokes) == 2
    for stroke in strokes:  # each one straight: either its rows or its columns barely vary
        assert min(np.ptp(stroke[:, 0]), np.ptp(stroke[:, 1])) < 1.5


def test_a_bar_drawn_again_has_the_pen_width_size_and_place_asked_for():
    picture = pen.draw(_bar(), brush=20, size=200, top=30, left=50)
    ink = picture.canvas[..., 3] > 127
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert rows[0] == pytest.approx(30, abs=2) and rows[-1] + 1 == pytest.approx(230, abs=2)
    assert columns[-1] - columns[0] + 1 == pytest.approx(20, abs=4)  # the pen's width, nothing else
    assert (picture.canvas[ink, :3] == 255).all()  # white ink, as the Draw page's canvas gives it
    assert picture.canvas[~(picture.canvas[..., 3] > 0)].max() == 0  # transparent elsewhere
    (stroke,) = picture.strokes
    assert stroke[:, 1].min() == pytest.approx(40, abs=1)  # (x, y) points: y starts a half pen in


def test_the_pen_is_round_and_one_width_everywhere():
    picture = pen.draw(_ring(), brush=30, size=240, top=20, left=20)
    inside = ndimage.distance_transform_edt(picture.canvas[..., 3] > 127)
    ridge = (inside > 0) & (inside >= ndimage.maximum_filter(inside, size=3))
    widths = 2 * inside[ridge]
    assert np.median(widths) == pytest.approx(30, abs=2)
    assert np.percentile(widths, 95) < 34  # no thick patches at the joins


def test_render_matches_a_plain_disc_at_one_point():
    canvas = pen.render([np.array([[100.0, 120.0]], np.float32)], brush=20)
    expected = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(expected).ellipse((90, 110, 110, 130), fill=255)
    assert np.abs(canvas[..., 3].astype(int) - np.asarray(expected).astype(int)).mean() < 1.0


def test_renders_are_reproducible_by_seed_and_a_shaky_hand_moves_the_points():
    digit = mnist_digits()[0][3]
    first = pen.random_draw(digit, np.random.default_rng(5), shake=0.02)
    again = pen.random_draw(digit, np.random.default_rng(5), shake=0.02)
    assert np.array_equal(first.canvas, again.canvas)
    steady = pen.draw(digit, brush=first.brush, size=200, top=10, left=10)
    shaky = pen.draw(digit, brush=first.brush, size=200, top=10, left=10, shake=0.02, seed=1)
    moved = np.linalg.norm(np.concatenate(steady.strokes) - np.concatenate(shaky.strokes), axis=1)
    assert 0.5 < moved.max() <= 0.02 * 200 * np.sqrt(2)  # up to 2% of the size on each axis


@pytest.mark.parametrize("brush", [6, 20, 40])
def test_a_drawn_digit_prepares_into_the_same_digit_as_its_original(brush):
    """What to_mnist makes of a pen drawing overlaps the original digit far more than other digits."""
    images, labels = mnist_digits()
    digit = images[0]
    prepared = preprocess.to_mnist(pen.draw(digit, brush=brush, size=250, top=15, left=15).canvas)
    original = images[0].astype(np.float32) / 255

    def overlap(a, b):
        a, b = ndimage.gaussian_filter(a, 1), ndimage.gaussian_filter(b, 1)
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    others = [overlap(prepared, images[i] / 255) for i in np.flatnonzero(labels != labels[0])[:50]]
    assert overlap(prepared, original) > 0.8 > np.median(others)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"brush": 5, "size": 100, "top": 0, "left": 0}, "brush"),
        ({"brush": 41, "size": 100, "top": 0, "left": 0}, "brush"),
        ({"brush": 20, "size": 100, "top": 0, "left": 0, "shake": 0.5}, "shake"),
        ({"brush": 20, "size": 20, "top": 0, "left": 0}, "larger than its pen"),
        ({"brush": 20, "size": 200, "top": 100, "left": 0}, "fit on the"),
        ({"brush": 20, "size": 100, "top": -1, "left": 0}, "fit on the"),
    ],
)
def test_draw_checks_its_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        pen.draw(_bar(), **arguments)


def test_trace_refuses_what_it_cannot_trace():
    with pytest.raises(ValueError, match="uint8"):
        pen.trace(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match="too little ink"):
        pen.trace(np.zeros((28, 28), np.uint8))


def test_random_drawings_stay_on_the_canvas_legible_or_small_for_the_pen():
    rng = np.random.default_rng(0)
    for digit in mnist_digits()[0][:20]:
        for legible in (True, False):
            picture = pen.random_draw(digit, rng, legible=legible)
            ink = picture.canvas[..., 3] > 127
            rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
            size = max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1
            share, limit = picture.brush / size, pen.LEGIBLE_BRUSH_SHARE
            assert share <= limit + 0.02 if legible else share >= limit - 0.02


def test_add_renders_appends_prepared_pen_drawings_with_their_labels():
    images, labels = mnist_digits()
    x, y = pen.add_renders(images[:30], labels[:30], 2, seed=3)
    assert x.shape == (90, 28, 28) and x.dtype == np.uint8
    assert np.array_equal(x[:30], images[:30]) and np.array_equal(y[30:], np.repeat(labels[:30], 2))
    assert all(image.max() > 200 for image in x[30:])  # each render went through to_mnist
    again, _ = pen.add_renders(images[:30], labels[:30], 2, seed=3)
    assert np.array_equal(x, again)
    with pytest.raises(ValueError, match="per_digit"):
        pen.add_renders(images[:3], labels[:3], 0, seed=0)


def test_with_renders_adds_renders_to_both_halves_of_a_split():
    images, labels = mnist_digits()
    split = datasets.Split(images[:12], labels[:12], images[12:18], labels[12:18])
    done: list[tuple[int, int]] = []
    drawn = pen.with_renders(split, 2, seed=3, on_progress=lambda *counts: done.append(counts))
    assert isinstance(drawn, datasets.Split)
    assert drawn.x_train.shape == (12 + 2 * 12, 28, 28) and drawn.x_val.shape == (6 + 6, 28, 28)
    assert np.array_equal(drawn.x_train[:12], split.x_train) and np.array_equal(drawn.x_val[:6], split.x_val)
    assert np.array_equal(drawn.y_train[12:], np.repeat(labels[:12], 2))
    assert np.array_equal(drawn.y_val[6:], labels[12:18])
    assert done[-1] == (18, 18)  # every chosen digit, training and validation, counted once


def test_renders_depend_on_the_seed_alone_not_on_how_many_cores_draw_them(monkeypatch):
    images, labels = mnist_digits()
    images, labels = images[:12], labels[:12]
    monkeypatch.setattr(pen, "RENDER_CHUNK", 5)  # three chunks: drawn by two worker processes
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})  # two cores, wherever it runs
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to this process would warn: workers must draw
        in_workers, _ = pen.add_renders(images, labels, 1, seed=4)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # one core: drawn here, in turn
    here, _ = pen.add_renders(images, labels, 1, seed=4)

    np.testing.assert_array_equal(in_workers, here)
    assert in_workers[12:].any(axis=(1, 2)).sum() >= 10  # and they are drawings, not blanks


def test_renders_are_drawn_here_when_no_worker_process_can_start(tmp_path, monkeypatch):
    """A program read from standard input cannot be imported by spawned workers: the same renders
    come, drawn in the one process."""
    script = (
        "import numpy as np\n"
        "from mnist_mlp import pen\n"
        "from tests.conftest import mnist_digits\n"
        "pen.RENDER_CHUNK = 4\n"
        "images, labels = mnist_digits()\n"
        "drawn, _ = pen.add_renders(images[:10], labels[:10], 1, seed=4)\n"
        f"np.save({str(tmp_path / 'drawn.npy')!r}, drawn)\n"
    )
    done = subprocess.run([sys.executable, "-"], input=script, text=True, capture_output=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1], check=False)  # fmt: skip

    assert done.returncode == 0, done.stderr[-2000:]
    assert "no worker process could start; drawing them in this process" in done.stderr  # the fallback ran
    monkeypatch.setattr(pen, "RENDER_CHUNK", 4)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # drawn here, in turn
    images, labels = mnist_digits()
    expected, _ = pen.add_renders(images[:10], labels[:10], 1, seed=4)
    np.testing.assert_array_equal(np.load(tmp_path / "drawn.npy"), expected)


def test_with_renders_draws_once_and_reads_them_back_for_the_same_data_seed_and_settings(monkeypatch):
    images, labels = mnist_digits()
    split = datasets.Split(images[:12], labels[:12], images[12:18], labels[12:18])
    drawn = pen.with_renders(split, 1, seed=5)

    def no_drawing(*args, **kwargs):
        raise AssertionError("drawn again: the cached renders were not used")

    monkeypatch.setattr(pen, "add_renders", no_drawing)
    done: list[tuple[int, int]] = []
    again = pen.with_renders(split, 1, seed=5, on_progress=lambda *counts: done.append(counts))
    for first, second in zip(drawn, again, strict=True):
        np.testing.assert_array_equal(first, second)
    assert done == [(18, 18)]  # read back: all done at once
    for changed in (
        lambda: pen.with_renders(split, 1, seed=6),  # another seed
        lambda: pen.with_renders(split, 2, seed=5),  # other settings
        lambda: pen.with_renders(datasets.Split(images[1:13], *list(split)[1:]), 1, seed=5),  # other data
    ):
        with pytest.raises(AssertionError, match="drawn again"):
            changed()
