"""One run from data to saved model, on the bundled digits: the split, the counts, the card, the files."""

import numpy as np
import pytest

from mnist_mlp import data, datasets, model, rights, run, store, train, unsure

TINY = model.MLPConfig(hidden_units=(16,), dropout_rate=0.0, epochs=1, batch_size=32, seed=3)


@pytest.fixture(scope="module")
def small(digits):
    """300 training and 100 validation digits of the bundled sample."""
    x_train, y_train, x_val, y_val = run.split(digits, seed=0)
    return datasets.Split(x_train[:300], y_train[:300], x_val[:100], y_val[:100])


@pytest.fixture(scope="module")
def mine(digits):
    """Five 'drawings' (test digits), as `my_drawings.as_dataset` gives them."""
    images, labels = digits.x_test[:5], digits.y_test[:5]
    return data.Dataset("mnist", "my drawings: 5", images, labels, images, labels, digits.class_names,
                        is_sample=False)  # fmt: skip


def test_split_holds_out_a_tenth_and_unpacks_as_four_arrays(digits):
    split = run.split(digits, seed=0)
    x_train, y_train, x_val, y_val = split
    assert (len(x_train), len(y_train), len(x_val), len(y_val)) == (3600, 3600, 400, 400)
    assert x_train.shape[1:] == (28, 28) and x_train.dtype == np.uint8
    assert np.array_equal(run.split(digits, seed=0).y_val, y_val)  # the same for the same seed
    assert run.with_extras(split, TINY, "mnist") is split  # nothing asked for, nothing added
    assert not run.split(digits, seed=0).read_only().x_train.flags.writeable


def test_a_plan_counts_my_drawings_as_often_as_they_are_mixed_in(digits, small, mine):
    plan = run.plan(digits, TINY, small, mine, 3)
    assert plan.samples == {"train": 300 + 3 * 5, "validation": 100, "test": 1000, "drawings": 5}
    training = plan.training
    assert len(training.x_train) == len(training.y_train) == 315 and training.x_val is small.x_val
    assert np.array_equal(training.x_train[-5:], mine.x_train)
    assert plan.notes("Mine.") == "Mine. Training mixed in 5 of my drawings, each 3 times."
    assert plan.name.startswith("mnist-784-16-10-")

    plain = run.plan(digits, TINY, small)
    assert plain.training is small and plain.notes("Mine.") == "Mine."
    assert plain.samples == {"train": 300, "validation": 100, "test": 1000}
    assert run.plan(digits, TINY, small, mine, 0).drawings is None  # mixed in no times: not at all


def test_save_writes_the_card_model_snapshots_and_detector(digits, small, mine, tmp_path):
    plan = run.plan(digits, TINY, small, mine, 2)
    result = train.train(TINY, plan.training)
    test = run.evaluate_test(plan, result.model)
    assert len(test.labels) == 1000
    path, replaced = run.save(plan, result, "flow", rights.CLI, test=test, notes="Small.",
                              command="python -m mnist_mlp train", store_folder=tmp_path)  # fmt: skip
    assert path == tmp_path / "flow" and not replaced
    for name in (store.MODEL_FILE, store.SNAPSHOT_FILE, store.DETECTOR_FILE, store.CARD_FILE):
        assert (path / name).is_file(), name
    card = store.read_card(path)
    assert card.samples == {"train": 310, "validation": 100, "test": 1000, "drawings": 5}
    assert card.test_accuracy == pytest.approx(test.accuracy) and card.config == TINY
    assert card.notes == "Small. Training mixed in 5 of my drawings, each 2 times."
    assert (card.saved_by, card.command) == ("cli", "python -m mnist_mlp train")
    assert isinstance(store.load(path).detector, unsure.Detector)


def test_the_detector_learns_the_training_images_with_my_drawings(digits, small, mine, trained):
    plan = run.plan(digits, TINY, small, mine, 4)
    detector = run.unsure_detector(plan, trained.model)
    x_train = np.concatenate([small.x_train, *[mine.x_train] * 4])
    expected = x_train.reshape(len(x_train), -1).mean(axis=0) / 255
    assert detector.pixel_mean == pytest.approx(expected, abs=1e-6)
    assert detector.kind == "digit"


def test_two_runs_started_in_one_second_are_offered_two_names(monkeypatch):
    """Compare's 'train both' starts two runs at once, often of one architecture; two equal names
    would let the second save replace the first (a session may replace its own)."""
    monkeypatch.setattr(run.time, "strftime", lambda pattern: "20250101-120000")
    plain, augmented = TINY, TINY.replace(augment=True)
    assert run.suggested_name("mnist", plain) != run.suggested_name("mnist", augmented)
    assert run.suggested_name("mnist", plain) == run.suggested_name("mnist", TINY.replace())
    assert run.suggested_name("mnist", plain).startswith("mnist-784-16-10-20250101-120000-")
    deep = model.MLPConfig(hidden_units=(1024,) * 6)
    name = run.suggested_name("fashion_mnist", deep)
    assert store.check_name(name) == name and name.startswith("fashion_mnist-mlp6-20250101-120000-")


def test_a_joined_model_validates_only_on_digits_no_member_trained_on(digits):
    configs = [model.MLPConfig(seed=0), model.MLPConfig(seed=3, hidden_units=(64,))]
    row_of = {image.tobytes(): row for row, image in enumerate(digits.x_train)}
    assert len(row_of) == len(digits.x_train)  # every digit is its own image, so rows can be found

    joined = run.joined_split(digits, configs)

    validation = {row_of[image.tobytes()] for image in joined.x_val}
    for config in configs:
        members_training = run.split(digits, config.seed).x_train
        assert not validation & {row_of[image.tobytes()] for image in members_training}
    first = run.split(digits, configs[0].seed)
    np.testing.assert_array_equal(joined.x_train, first.x_train)  # what the first member trained on
    assert 0 < len(validation) < 0.05 * len(digits.x_train)  # ~1%: each member holds out its own 10%
