"""The class board: the shipped digit model on real bundled digits (and pen-stroke drawings of them)
saved as a class's drawings, a collection read while many threads save to it, and a fine-tuned copy
that leaves the original be."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp import board, evaluate, my_drawings, pen, rights, store

SHIPPED = Path(__file__).resolve().parents[1] / "saved_models" / "digits-mlp"


@pytest.fixture(scope="module")
def shipped():
    """The shipped digit model, loaded once (tests that train use a copy)."""
    return store.load(SHIPPED)


@pytest.fixture(scope="module")
def hard_and_easy(shipped, digits) -> tuple[np.ndarray, np.ndarray]:
    """A class's 40 drawings, (40, 28, 28) uint8 and (40,) labels: the real test digits and one pen-stroke
    drawing of each that the shipped model misreads (at most 20), then ones it reads right."""
    images, labels = pen.add_renders(digits.x_test, digits.y_test, 1, seed=0)  # originals, then drawings
    reads = evaluate.evaluate(shipped.model, images, labels).predictions
    wrong, right = np.flatnonzero(reads != labels)[:20], np.flatnonzero(reads == labels)
    assert len(wrong) >= 8, len(wrong)  # 99.7% of the originals and ~98% of the drawings: ~25 wrong
    chosen = np.concatenate([wrong, right[: 40 - len(wrong)]])
    return images[chosen], labels[chosen]


def save_all(drawings: tuple[np.ndarray, np.ndarray], folder) -> list[my_drawings.Drawing]:
    images, labels = drawings
    pairs = zip(images, labels, strict=True)
    return [my_drawings.save(image, int(label), "mnist", folder) for image, label in pairs]


def first(digits, count: int) -> tuple[np.ndarray, np.ndarray]:
    return digits.x_test[:count], digits.y_test[:count]


def test_an_empty_or_missing_collection_reads_as_no_drawings(tmp_path, shipped):
    collection = board.read_collection("mnist", tmp_path / "nothing here")
    assert collection.images.shape == (0, 28, 28) and collection.labels.shape == (0,)
    summary = board.summary(shipped.model, collection)
    assert summary.count == 0 and summary.right_count == 0 and summary.accuracy is None
    assert summary.confusion.shape == (10, 10) and summary.confusion.sum() == 0
    assert summary.latest == () and summary.hardest == ()


def test_the_summary_says_what_the_model_read_in_each_drawing(tmp_path, shipped, digits, hard_and_easy):
    saved = save_all(hard_and_easy, tmp_path)
    summary = board.summary(shipped.model, board.read_collection("mnist", tmp_path), latest=5, hardest=4)
    expected = evaluate.evaluate(shipped.model, *hard_and_easy)
    assert [d.id for d in summary.collection.drawings] == [d.id for d in saved]  # oldest first
    np.testing.assert_array_equal(summary.reads, expected.predictions)
    np.testing.assert_array_equal(summary.collection.labels, hard_and_easy[1])
    wrong = int((expected.predictions != expected.labels).sum())
    assert summary.count == 40 and summary.right_count == 40 - wrong
    assert summary.accuracy == pytest.approx((40 - wrong) / 40)
    np.testing.assert_array_equal(summary.confusion, expected.confusion)
    assert summary.latest == (39, 38, 37, 36, 35)  # the newest saved, newest first
    # The hardest are misread ones (lowest probability for the true class), the very lowest first.
    true_probability = expected.probabilities[np.arange(40), expected.labels]
    assert summary.hardest == tuple(np.argsort(true_probability)[:4])
    assert all(not summary.right[i] for i in summary.hardest)
    assert list(summary.true_probability[list(summary.hardest)]) == sorted(true_probability)[:4]


def test_files_that_are_not_whole_drawings_are_skipped_not_fatal(tmp_path, shipped, digits):
    saved = save_all(first(digits, 5), tmp_path)
    truncated = saved[1].path.read_bytes()[:40]  # as a copy interrupted by a full disk would leave it
    saved[1].path.write_bytes(truncated)
    (tmp_path / "mnist" / f"{my_drawings.TEMP_PREFIX}abc").write_bytes(truncated)  # a save under way
    (tmp_path / "mnist" / "3-notes.txt").write_text("not a drawing")
    collection = board.read_collection("mnist", tmp_path)
    assert [d.id for d in collection.drawings] == [d.id for d in saved if d is not saved[1]]
    assert len(collection.skipped) == 1 and saved[1].path.name in collection.skipped[0]
    assert board.summary(shipped.model, collection).count == 4


def test_thirty_people_saving_at_once_lose_nothing_and_the_board_reads_throughout(tmp_path, shipped, digits):
    """Threads save to one collection as a class would; a reader summarises all the while.

    Each person pauses after half their drawings until the reader has seen some but not all of them,
    so a read in the middle of the saving is certain however the threads are scheduled (on one core
    the reader could otherwise read only before and after). Its last read, once everyone has
    finished, must see every drawing; in between, counts never go down and no file is half-written."""
    people, each = 30, 4
    total = people * each
    saved: list[my_drawings.Drawing] = []
    failures: list[BaseException] = []
    reads: list[int] = []
    start, finished = threading.Barrier(people + 1, timeout=60), threading.Event()
    seen_mid_save = threading.Event()  # the reader has counted 0 < count < total
    lock = threading.Lock()

    def person(number: int) -> None:
        try:
            start.wait()
            for k in range(each):
                if k == each // 2 and not seen_mid_save.wait(timeout=60):
                    raise TimeoutError("the reader never saw a collection part-way saved")
                index = (number * each + k) % len(digits.y_test)
                drawing = my_drawings.save(digits.x_test[index], int(digits.y_test[index]), "mnist", tmp_path)
                with lock:
                    saved.append(drawing)
        except BaseException as err:  # reported below, with every other thread's
            failures.append(err)

    def reader() -> None:
        try:
            start.wait()
            while True:
                last = finished.is_set()  # set before this read began: every save is on disk
                found = board.read_collection("mnist", tmp_path)
                assert not found.skipped, found.skipped  # no half-written file ever seen
                reads.append(board.summary(shipped.model, found).count)
                if 0 < reads[-1] < total:
                    seen_mid_save.set()
                if last:
                    return
        except BaseException as err:
            failures.append(err)
            seen_mid_save.set()  # let the people finish; the failure is reported below

    threads = [threading.Thread(target=person, args=(n,)) for n in range(people)]
    watcher = threading.Thread(target=reader)
    for thread in [*threads, watcher]:
        thread.start()
    for thread in threads:
        thread.join(120)
    finished.set()
    watcher.join(120)
    assert not any(thread.is_alive() for thread in [*threads, watcher]), "a thread is stuck"
    assert not failures, failures
    assert len(saved) == total and len({d.id for d in saved}) == total
    assert any(0 < count < total for count in reads), reads  # read while people were saving
    assert reads == sorted(reads), reads  # counts only grow while people save
    assert reads[-1] == total, reads  # the read after everyone finished sees every drawing
    final = board.read_collection("mnist", tmp_path)
    assert sorted(d.id for d in final.drawings) == sorted(d.id for d in saved)
    assert not final.skipped
    assert not list((tmp_path / "mnist").glob(f"{my_drawings.TEMP_PREFIX}*"))  # no temporary left behind


def test_collections_are_listed_by_name_with_the_main_one_first(monkeypatch, tmp_path, digits):
    monkeypatch.setenv(my_drawings.DRAWINGS_ENV, str(tmp_path))
    assert board.collections() == [""]
    for name in ("lesson 2", "Lesson 1", ""):
        my_drawings.save(digits.x_test[0], int(digits.y_test[0]), "mnist", my_drawings.collection_dir(name))
    (tmp_path / ".hidden").mkdir()  # not a name a person can choose
    assert board.collections() == ["", "Lesson 1", "lesson 2"]


def test_a_fine_tuned_copy_learns_the_drawings_and_the_original_is_unchanged(
    tmp_path, shipped, digits, hard_and_easy
):
    save_all(hard_and_easy, tmp_path)
    collection = board.read_collection("mnist", tmp_path)
    weights = [w.copy() for w in shipped.model.get_weights()]
    steps = int(shipped.model.optimizer.iterations.numpy())
    reports = []
    tuned = board.fine_tune(shipped, collection, digits, epochs=2, on_progress=reports.append)

    for before, after in zip(weights, shipped.model.get_weights(), strict=True):  # the original untouched
        np.testing.assert_array_equal(before, after)
    assert int(shipped.model.optimizer.iterations.numpy()) == steps
    assert tuned.result.model is not shipped.model
    assert tuned.before_drawings.accuracy == board.summary(shipped.model, collection).accuracy
    # The untouched original on the 1,000 test digits it is tested on here
    original = evaluate.evaluate(shipped.model, digits.x_test, digits.y_test)
    assert tuned.before_test.accuracy == original.accuracy
    # It learns the drawings: most of the misread ones are read right after
    assert tuned.after_drawings.accuracy >= tuned.before_drawings.accuracy + 0.15
    assert tuned.after_test.accuracy >= tuned.before_test.accuracy - 0.02  # and forgets little
    assert reports and reports[-1].kind == "epoch" and reports[-1].fraction == pytest.approx(1.0)
    # It went on from the original: history and steps continue
    assert len(tuned.result.history) == len(shipped.card.history) + 2
    assert tuned.result.steps > steps
    counts = tuned.plan.samples
    assert counts["drawings"] == 40 and counts["train"] == 3600 + 40 * board.FINE_TUNE_TIMES
    assert tuned.suggested_name.startswith("digits-mlp-tuned-")


def test_the_copy_is_saved_with_its_card_and_the_shipped_name_is_refused(
    tmp_path, shipped, digits, hard_and_easy
):
    save_all((hard_and_easy[0][:20], hard_and_easy[1][:20]), tmp_path / "drawings")
    tuned = board.fine_tune(shipped, board.read_collection("mnist", tmp_path / "drawings"), digits, epochs=1)
    folder = tmp_path / "models"
    person = rights.Actor("app", "someone")
    path, replaced = board.save(tuned, "class-copy", person, store_folder=folder)
    assert not replaced and path == folder / "class-copy"
    loaded = store.load("class-copy", folder)
    assert loaded.card.test_accuracy == pytest.approx(tuned.after_test.accuracy)
    assert loaded.card.samples["drawings"] == 20 and "class board" in loaded.card.notes
    assert loaded.card.owner == "someone" and loaded.detector is not None
    probabilities = loaded.model.predict(digits.x_test[:50], verbose=0)
    np.testing.assert_allclose(
        probabilities, tuned.result.model.predict(digits.x_test[:50], verbose=0), atol=1e-5
    )
    with pytest.raises(ValueError, match="ships with the app"):
        board.save(tuned, "digits-mlp", person, store_folder=folder)
    with pytest.raises(ValueError, match="only the session that saved"):
        board.save(tuned, "class-copy", rights.Actor("app", "someone else"), store_folder=folder)


def test_a_fine_tune_without_drawings_or_card_is_refused_with_why(tmp_path, shipped, digits):
    empty = board.read_collection("mnist", tmp_path)
    with pytest.raises(board.BoardError, match="No drawings"):
        board.fine_tune(shipped, empty, digits)
    save_all(first(digits, 3), tmp_path)
    uncarded = store.LoadedModel(shipped.model, None)
    with pytest.raises(board.BoardError, match="no card"):
        board.fine_tune(uncarded, board.read_collection("mnist", tmp_path), digits)


def test_a_tuned_name_fits_the_store(shipped):
    name = board.tuned_name("x" * 63)
    assert len(name) <= 63 and name.startswith("x") and "-tuned-" in name
    assert store.check_name(board.tuned_name("digits-mlp")).startswith("digits-mlp-tuned-")


def test_time_ago_says_how_long_ago_in_the_largest_whole_unit():
    now = 1_800_000_000.0
    expected = [
        (0, "just now"), (0.4, "just now"), (1, "1 s ago"), (12.9, "12 s ago"), (59, "59 s ago"),
        (60, "1 min ago"), (179, "2 min ago"), (3599, "59 min ago"), (3600, "1 h ago"), (7300, "2 h ago"),
        (86399, "23 h ago"), (86400, "1 day ago"), (5 * 86400 + 5, "5 days ago"),
    ]  # fmt: skip
    assert [(age, board.time_ago(now - age, now)) for age, _ in expected] == expected
    assert board.time_ago(now + 3, now) == "just now"  # saved on a clock a little ahead of the server's
