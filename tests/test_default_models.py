"""Tests on the shipped models in saved_models/: they load safely, describe themselves, match their cards
and read digits drawn on the app's canvas about as well as MNIST's own."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import drawing_robustness
from mnist_mlp import data, evaluate, model, store

DIGIT_FOLDER = store.SHIPPED_STORE / store.DEFAULT_MODEL
FASHION_FOLDER = store.SHIPPED_STORE / "fashion-mlp"
FASHION_DATA = data.DEBIAN_DATASETS_DIR / "fashion-mnist"  # Debian's dataset-fashion-mnist, full set
SAMPLE_PATH = data.SAMPLE_DIR / data.SAMPLE_FILES["mnist"]
DRAWING_COUNT = 200  # test digits drawn on the canvas: ~1 s of to_mnist
DRAWING_SEED = 0
DRAWING_TOLERANCE = 0.02  # drawings may lose at most 2 points against the originals
MIN_DRAWING_ACCURACY = 0.9
FASHION_MIN_ACCURACY = 0.905  # issue 26's goal; ours: 90.53% (the best MLP in its benchmark list: 90.0%)
MNIST_TEST_SIZE = 10_000
MNIST_TRAINING_DIGITS = 54_000  # MNIST's 60,000 with 10% held out for validation
DIGIT_MIN_ACCURACY = 0.993  # on MNIST's test set: Simard et al. 2003's MLP, the floor issue 26 set
SAMPLE_MIN_ACCURACY = 0.985  # 1,000 digits: a rough figure, a few hard ones more or less
FASHION_TEST_SIZE = 10_000

requires_digit_model = pytest.mark.skipif(
    not (DIGIT_FOLDER / store.MODEL_FILE).is_file(),
    reason=f"{DIGIT_FOLDER.relative_to(store.SHIPPED_STORE.parent)}/{store.MODEL_FILE} is absent: "
    "the shipped digit model has not been trained yet",
)
requires_fashion_model = pytest.mark.skipif(
    not (FASHION_FOLDER / store.MODEL_FILE).is_file(),
    reason=f"saved_models/fashion-mlp/{store.MODEL_FILE} is absent: no shipped Fashion-MNIST model",
)
requires_fashion_data = pytest.mark.skipif(
    not FASHION_DATA.is_dir(),
    reason=f"{FASHION_DATA} is absent: install Debian's dataset-fashion-mnist for the full test set",
)


@pytest.fixture(scope="module")
def digit_model() -> store.LoadedModel:
    """The shipped digit model, by name from the shipped store: inspected, then loaded in safe_mode."""
    return store.load(store.DEFAULT_MODEL, store.SHIPPED_STORE)


@pytest.fixture(scope="module")
def sample() -> data.Dataset:
    """The bundled MNIST sample itself (4,000 train / 1,000 test), even where the full MNIST is here."""
    return data.load("mnist", SAMPLE_PATH)


@requires_digit_model
def test_digit_model_loads_and_its_card_says_what_it_is(digit_model: store.LoadedModel) -> None:
    card = digit_model.card
    assert digit_model.path == DIGIT_FOLDER
    assert card is not None and card.name == store.DEFAULT_MODEL
    assert card.dataset == "mnist"
    assert card.class_names == [str(digit) for digit in range(10)]
    assert card.data_source, "the card should say where its training data came from"
    assert card.samples.get("train", 0) > 0 and card.samples.get("test", 0) > 0
    assert card.test_accuracy is not None and card.history
    # The card's config describes the model that was loaded, down to the parameter count.
    assert digit_model.model.count_params() == card.config.parameter_count
    assert tuple(digit_model.model.input_shape) == (None, *model.IMAGE_SHAPE)
    assert tuple(digit_model.model.output_shape) == (None, model.NUM_CLASSES)


@requires_digit_model
@pytest.mark.full_mnist
def test_digit_model_learned_from_all_of_mnist_and_matches_its_card_on_its_test_set(
    digit_model: store.LoadedModel, full_mnist: data.Dataset
) -> None:
    card = digit_model.card
    assert "full MNIST" in card.data_source and not card.data_source.startswith("bundled sample")
    assert card.samples["test"] == len(full_mnist.y_test) == MNIST_TEST_SIZE
    assert card.samples["train"] >= MNIST_TRAINING_DIGITS  # the 54,000 digits, with their pen strokes
    accuracy = evaluate.evaluate(digit_model.model, full_mnist.x_test, full_mnist.y_test).accuracy
    assert accuracy == pytest.approx(card.test_accuracy, abs=1e-6)
    assert accuracy >= DIGIT_MIN_ACCURACY


@requires_digit_model
def test_digit_model_reads_the_bundled_test_digits_it_never_saw(
    digit_model: store.LoadedModel, sample: data.Dataset
) -> None:
    """The sample's test part is 1,000 of MNIST's test digits (mnist_mlp/sample/README.md)."""
    accuracy = evaluate.evaluate(digit_model.model, sample.x_test, sample.y_test).accuracy
    assert accuracy >= SAMPLE_MIN_ACCURACY


@requires_digit_model
def test_digit_model_reads_canvas_drawings_nearly_as_well_as_the_originals(
    digit_model: store.LoadedModel, sample: data.Dataset
) -> None:
    from mnist_mlp import preprocess

    digits, labels = sample.x_test[:DRAWING_COUNT], sample.y_test[:DRAWING_COUNT].astype(int)
    drawings = drawing_robustness.draw_digits(digits, seed=DRAWING_SEED)  # sizes 40..260 px, 3 colours
    assert {picture.background for picture in drawings} == set(drawing_robustness.BACKGROUNDS)
    prepared = [preprocess.to_mnist(picture.canvas) for picture in drawings]
    found = np.array([image is not None for image in prepared])
    predictions = np.full(DRAWING_COUNT, -1)  # a drawing found blank counts as wrong
    if found.any():
        images = np.stack([image for image in prepared if image is not None])  # (m, 28, 28)
        predictions[found] = model.predict(digit_model.model, images).argmax(axis=1)
    original = model.predict(digit_model.model, digits).argmax(axis=1) == labels
    drawn = predictions == labels
    assert drawn.mean() >= original.mean() - DRAWING_TOLERANCE, (
        f"drawings {drawn.mean():.1%} against originals {original.mean():.1%}; "
        f"{np.count_nonzero(~found)} found blank"
    )
    assert drawn.mean() >= MIN_DRAWING_ACCURACY


@requires_digit_model
def test_digit_model_reads_pen_strokes_and_calls_what_is_no_digit_unsure(
    digit_model: store.LoadedModel, sample: data.Dataset
) -> None:
    """Digits drawn as people draw them are read; scribbles and letters are called Unsure, digits rarely."""
    from mnist_mlp import foreign, preprocess, unsure

    digits, labels = sample.x_test[:DRAWING_COUNT], sample.y_test[:DRAWING_COUNT].astype(int)
    pens = np.stack([preprocess.to_mnist(canvas) for canvas in foreign.pen_digits(digits, seed=DRAWING_SEED)])
    assert (model.predict(digit_model.model, pens).argmax(axis=1) == labels).mean() >= 0.95
    detector = digit_model.detector
    assert detector is not None and detector.kind == "digit"
    assert unsure.flags(detector, unsure.scores(detector, digit_model.model, pens)).mean() <= 0.04
    scribbles = np.stack(
        [preprocess.to_mnist(canvas) for canvas in foreign.scribbles(100, seed=DRAWING_SEED)]
    )
    letters = np.stack([preprocess.to_mnist(canvas) for _, canvas in foreign.letters(100, seed=DRAWING_SEED)])
    # Floors that catch a regression, below what `python -m benchmarks.unsure_verdict` measures on
    # 10,000 of each (scribbles 85.1%, letters 98.0%); issue 26's 95% for scribbles is not met yet.
    for foreign_images, floor in ((scribbles, 0.78), (letters, 0.9)):
        caught = unsure.flags(detector, unsure.scores(detector, digit_model.model, foreign_images))
        assert caught.mean() >= floor


@requires_fashion_model
@requires_fashion_data
def test_fashion_model_matches_its_card_on_the_full_test_set() -> None:
    loaded = store.load("fashion-mlp", store.SHIPPED_STORE)
    card = loaded.card
    assert card is not None and card.dataset == "fashion_mnist"
    assert card.samples.get("test") == FASHION_TEST_SIZE, (
        f"the card's test figures should be on the full {FASHION_TEST_SIZE:,}; source: {card.data_source}"
    )
    fashion = data.load("fashion_mnist", FASHION_DATA)
    assert len(fashion.y_test) == FASHION_TEST_SIZE
    accuracy = evaluate.evaluate(loaded.model, fashion.x_test, fashion.y_test).accuracy
    assert accuracy == pytest.approx(card.test_accuracy, abs=1e-4)
    assert accuracy >= FASHION_MIN_ACCURACY
