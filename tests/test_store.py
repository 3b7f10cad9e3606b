"""The model store on real files: atomic saves, listing, names, rename, delete."""

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp import store
from mnist_mlp.model import MLPConfig, build_model
from tests import crashing_save

ROOT = Path(__file__).resolve().parent.parent


def make_card(name: str, accuracy: float = 0.9) -> store.Card:
    return store.Card(
        name=name, config=MLPConfig(hidden_units=(8,)), dataset="mnist", data_source="test",
        class_names=[str(d) for d in range(10)], test_accuracy=accuracy,
        history=[{"epoch": 1.0, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.79}],
    )  # fmt: skip


@pytest.fixture(scope="module")
def small_model():
    return build_model(MLPConfig(hidden_units=(8,)))


def test_save_list_load_round_trip(model_store, small_model):
    snapshots = {0: np.zeros((8, 28, 28), np.float16), 10: np.ones((8, 28, 28), np.float16)}
    path = store.save(small_model, make_card("first"), snapshots=snapshots)
    assert path == model_store / "first"
    assert sorted(p.name for p in path.iterdir()) == ["card.json", "model.keras", "snapshots.npz"]
    [entry] = store.list_models()
    assert entry.name == "first" and entry.error is None and entry.card.test_accuracy == 0.9
    loaded = store.load("first")
    assert loaded.card.config == MLPConfig(hidden_units=(8,))
    assert sorted(loaded.snapshots) == [0, 10]
    for before, after in zip(small_model.get_weights(), loaded.model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_listing_is_newest_first(model_store, small_model):
    for index, name in enumerate(["old", "middle", "new"]):
        path = store.save(small_model, make_card(name))
        os.utime(path, (1_000_000 + index, 1_000_000 + index))
    assert [e.name for e in store.list_models()] == ["new", "middle", "old"]


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "a\\b", "..", ".hidden", "", "x" * 64, "nul", "CON.txt", "tab\there", "end."]
)
def test_path_tricks_and_reserved_names_are_refused(model_store, small_model, name):
    with pytest.raises(store.StoreError, match="Invalid model name"):
        store.save(small_model, make_card(name))
    assert not model_store.exists() or list(model_store.iterdir()) == []


def test_no_silent_overwrite(model_store, small_model):
    store.save(small_model, make_card("same", 0.5))
    with pytest.raises(store.StoreError, match="already exists"):
        store.save(small_model, make_card("same", 0.7))
    assert store.load("same").card.test_accuracy == 0.5
    store.save(small_model, make_card("same", 0.7), overwrite=True)
    assert store.load("same").card.test_accuracy == 0.7


def test_two_saves_under_one_name_one_wins(model_store, small_model):
    outcomes = []
    barrier = threading.Barrier(2)

    def save(accuracy):
        barrier.wait()
        try:
            store.save(small_model, make_card("race", accuracy))
            outcomes.append(("saved", accuracy))
        except store.StoreError as err:
            outcomes.append(("refused", str(err)))

    threads = [threading.Thread(target=save, args=(a,)) for a in (0.1, 0.2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(kind for kind, _ in outcomes) == ["refused", "saved"]
    winner = next(value for kind, value in outcomes if kind == "saved")
    assert store.load("race").card.test_accuracy == winner
    assert [p.name for p in model_store.iterdir()] == ["race"]


def test_a_crash_in_the_middle_of_a_save_loses_nothing(model_store, small_model, tmp_path):
    store.save(small_model, make_card("earlier"))
    script = tmp_path / "crash.py"
    script.write_text(
        "import os, numpy as np\n"
        "from mnist_mlp import store\n"
        "from mnist_mlp.model import MLPConfig, build_model\n"
        "def crash(*args, **kwargs):\n"
        "    os._exit(9)  # the process dies after the model file, before the card\n"
        "store._write_json = crash\n"
        "card = store.Card(name='crashed', config=MLPConfig(hidden_units=(8,)), dataset='mnist',\n"
        "                  data_source='t', class_names=[str(d) for d in range(10)])\n"
        "store.save(build_model(MLPConfig(hidden_units=(8,))), card)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    completed = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, timeout=120)
    assert completed.returncode == 9
    leftovers = [p.name for p in model_store.iterdir() if p.name.startswith(".saving-")]
    assert len(leftovers) == 1  # the half-written save, out of sight
    assert [e.name for e in store.list_models()] == ["earlier"]
    assert store.load("earlier").card is not None


def test_unreadable_entries_are_listed_not_fatal(model_store, small_model):
    store.save(small_model, make_card("good"))
    (model_store / "broken-card").mkdir()
    (model_store / "broken-card" / "card.json").write_text("{not json")
    (model_store / "no-model").mkdir()
    (model_store / "no-model" / "card.json").write_text(json.dumps(make_card("no-model").to_dict()))
    (model_store / "stray.txt").write_text("hello")
    store.save(small_model, make_card("truncated"))
    model_file = model_store / "truncated" / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:1000])  # a valid card over a broken model file
    store.save(small_model, make_card("foreign"))
    (model_store / "foreign" / "model.keras").write_bytes(b"not a zip at all")
    entries = {e.name: e for e in store.list_models()}
    assert set(entries) == {"good", "broken-card", "no-model", "truncated", "foreign"}
    assert entries["good"].error is None
    assert "not valid JSON" in entries["broken-card"].error
    assert "model.keras is missing" in entries["no-model"].error
    assert "not a .keras file" in entries["truncated"].error
    assert "not a .keras file" in entries["foreign"].error
    assert entries["truncated"].card is None  # so no picker offers it as usable
    assert next(iter(entries)) == "good"  # readable ones first


def test_rename_and_delete(model_store, small_model):
    store.save(small_model, make_card("before"))
    store.save(small_model, make_card("other"))
    with pytest.raises(store.StoreError, match="already exists"):
        store.rename("before", "other")
    store.rename("before", "after")
    assert store.load("after").card.name == "after"
    with pytest.raises(store.StoreError, match="No model named 'before'"):
        store.load("before")
    store.delete("after")
    assert [e.name for e in store.list_models()] == ["other"]
    with pytest.raises(store.StoreError, match="No model named"):
        store.delete("after")
    with pytest.raises(store.StoreError, match="Invalid model name"):
        store.delete("../other")


def test_a_replace_whose_old_copy_another_session_cleared_still_succeeds(
    model_store, small_model, monkeypatch
):
    store.save(small_model, make_card("kept", 0.1))
    monkeypatch.setattr(store.files, "exchange", lambda first, second: False)  # the stand-in path
    steps = []

    def another_session_lists(step: str) -> None:
        steps.append(step)
        if step == "renamed in":
            store.list_models()  # clears the stand-in, the new copy being in place

    monkeypatch.setattr(store, "_reached", another_session_lists)
    assert store.save(small_model, make_card("kept", 0.7), overwrite=True) == model_store / "kept"
    assert store.load("kept").card.test_accuracy == 0.7
    assert "old copy retired" not in steps  # the listing did it
    assert sorted(p.name for p in model_store.iterdir()) == ["kept"]


def test_a_delete_that_loses_the_race_to_another_is_a_store_error(model_store, small_model, monkeypatch):
    store.save(small_model, make_card("goes"))
    found = store.find

    def found_then_deleted_by_another_session(name, root=None):
        folder = found(name, root)
        store._retire(folder)
        return folder

    monkeypatch.setattr(store, "find", found_then_deleted_by_another_session)
    with pytest.raises(store.StoreError, match="No model named 'goes'"):
        store.delete("goes")


def test_load_by_path_of_a_keras_file(tmp_path, small_model):
    path = tmp_path / "plain.keras"
    small_model.save(path)
    loaded = store.load(str(path))
    assert loaded.card is None and loaded.model.count_params() == small_model.count_params()
    with pytest.raises(store.StoreError, match="no such file"):
        store.load(str(tmp_path / "missing.keras"))


def test_an_unsure_detector_is_saved_beside_the_model_and_read_back(model_store, small_model, digits):
    from mnist_mlp import unsure

    detector = unsure.fit(
        small_model, digits.x_train[:500], digits.y_train[:500], digits.x_test[:100], kind="digit"
    )
    path = store.save(small_model, make_card("judged"), detector=detector)
    assert (path / store.DETECTOR_FILE).is_file()
    loaded = store.load("judged")
    np.testing.assert_array_equal(loaded.detector.limits, detector.limits)
    np.testing.assert_array_equal(loaded.detector.components, detector.components)
    assert store.load(store.save(small_model, make_card("plain"))).detector is None

    (path / store.DETECTOR_FILE).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(store.StoreError, match=r"unsure\.npz: Unreadable Unsure detector"):
        store.load("judged")


@pytest.fixture(scope="module")
def versions_on_disk(tmp_path_factory) -> dict[float, Path]:
    """Two .keras files of one MLP: every weight 1.0 (the old version) or 2.0 (the new)."""
    folder = tmp_path_factory.mktemp("versions")
    network = build_model(crashing_save.CONFIG)
    paths = {}
    for value in (1.0, 2.0):
        network.set_weights([np.full_like(w, value) for w in network.get_weights()])
        paths[value] = folder / f"v{value:g}.keras"
        network.save(paths[value])
    return paths


def assert_whole_version(folder: Path, name: str) -> float:
    """The version (1.0 or 2.0) the store serves under `name`, having checked every file agrees."""
    loaded = store.load(name, folder)
    weights = np.concatenate([w.ravel() for w in loaded.model.get_weights()])
    value = float(weights[0])
    assert value in (1.0, 2.0)
    np.testing.assert_array_equal(weights, value)
    assert loaded.card.test_accuracy == pytest.approx(value / 10)  # the card of the same version
    np.testing.assert_array_equal(loaded.snapshots[0], value)
    np.testing.assert_array_equal(loaded.detector.limits, [value, value])
    assert [e.name for e in store.list_models(folder)] == [name]
    return value


SAVE_STEPS = ["model written", "snapshots written", "detector written", "card written"]
CRASH_POINTS = {
    "exchange": [*SAVE_STEPS, "swapped in", "old copy retired"],
    "stand-in": [*SAVE_STEPS, "old copy stood aside", "renamed in", "old copy retired"],
}
PUBLISHED = {"exchange": "swapped in", "stand-in": "renamed in"}  # from here on the name is the new one


def run_crashing(how: str, step: str, folder: Path, keras_file: Path) -> list[str]:
    """Run the save (or rename) in a real child process that dies at `step`; the steps it reached."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        str(ROOT / "tests" / "crashing_save.py"),
        how,
        step,
        str(folder),
        str(keras_file),
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 9, completed.stderr
    return completed.stdout.split("\n")[:-1]


def test_two_processes_saving_under_one_name_one_wins_and_the_other_is_told(tmp_path, versions_on_disk):
    folder, meeting = tmp_path / "models", tmp_path / "meeting"
    meeting.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    racers = {}
    for value, keras_file in versions_on_disk.items():
        command = [sys.executable, str(ROOT / "tests" / "racing_save.py"), str(folder), str(keras_file),
                   str(value), str(meeting)]  # fmt: skip
        racers[value] = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    outcomes = {value: (racer.wait(timeout=120), *racer.communicate()) for value, racer in racers.items()}
    assert sorted(meeting.iterdir()) == [meeting / "1.0", meeting / "2.0"]  # both passed the name check
    assert sorted(code for code, _, _ in outcomes.values()) == [0, 3], outcomes
    [winner] = [value for value, (code, _, _) in outcomes.items() if code == 0]
    [loser] = [out for code, out, _ in outcomes.values() if code == 3]
    assert (
        loser == f"refused: A model named {crashing_save.NAME!r} was saved by someone else just now. "
        "Choose another name.\n"
    )
    assert assert_whole_version(folder, crashing_save.NAME) == winner
    assert sorted(p.name for p in folder.iterdir()) == [crashing_save.NAME]  # the loser's copy is gone


def test_a_replace_by_another_process_changes_the_listed_fingerprint_and_a_hidden_copy_does_not(
    tmp_path, versions_on_disk
):
    folder = tmp_path / "models"
    store.save(**crashing_save.version(1.0, versions_on_disk[1.0]), store=folder)
    before = store.listed_fingerprint(folder)
    (folder / f"{store.SAVING_PREFIX}{'0' * 32}").mkdir()  # another process's save, being written
    assert store.listed_fingerprint(folder) == before
    assert store.fingerprint(folder) != (store.mtime_ns(folder), *before)  # which the cache key sees
    command = [sys.executable, str(ROOT / "tests" / "crashing_save.py"), "exchange", "(no step)",
               str(folder), str(versions_on_disk[2.0])]  # fmt: skip
    subprocess.run(command, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=120)
    after = store.listed_fingerprint(folder)
    assert [entry[0] for entry in after] == [crashing_save.NAME] and after != before
    assert assert_whole_version(folder, crashing_save.NAME) == 2.0


@pytest.mark.parametrize(
    ("how", "step"), [(how, step) for how, steps in CRASH_POINTS.items() for step in steps]
)
def test_a_process_killed_at_any_step_of_a_replace_leaves_the_old_or_the_new_model(
    tmp_path, versions_on_disk, how, step
):
    folder = tmp_path / "models"
    store.save(**crashing_save.version(1.0, versions_on_disk[1.0]), store=folder)
    reached = run_crashing(how, step, folder, versions_on_disk[2.0])
    steps = CRASH_POINTS[how]
    assert reached == steps[: steps.index(step) + 1]  # the child really got this far, in this order
    expected = 2.0 if steps.index(step) >= steps.index(PUBLISHED[how]) else 1.0
    assert assert_whole_version(folder, crashing_save.NAME) == expected
    left = {p.name for p in folder.iterdir() if p.name.startswith(".") and not p.name.startswith(".saving-")}
    assert left <= {store.find(crashing_save.NAME, folder).name}  # at most the stand-in, while it serves


def test_the_stand_in_is_served_and_cleared_by_the_next_replace(tmp_path, versions_on_disk):
    folder = tmp_path / "models"
    store.save(**crashing_save.version(1.0, versions_on_disk[1.0]), store=folder)
    run_crashing("stand-in", "old copy stood aside", folder, versions_on_disk[2.0])
    assert not (folder / crashing_save.NAME).exists()  # only the stand-in holds the model now
    assert store.find(crashing_save.NAME, folder).name.startswith(".standin-")
    store.save(**crashing_save.version(2.0, versions_on_disk[2.0]), store=folder, overwrite=True)
    assert assert_whole_version(folder, crashing_save.NAME) == 2.0
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".saving-")) == ["kept"]


def test_a_rename_killed_after_the_move_leaves_the_model_whole_under_its_new_name(tmp_path, versions_on_disk):
    folder = tmp_path / "models"
    store.save(**crashing_save.version(1.0, versions_on_disk[1.0]), store=folder)
    card_before = (folder / "kept" / store.CARD_FILE).read_bytes()
    assert run_crashing("rename", "folder moved", folder, versions_on_disk[2.0]) == ["folder moved"]
    assert (folder / "moved" / store.CARD_FILE).read_bytes() == card_before  # moved, not yet rewritten
    assert assert_whole_version(folder, "moved") == 1.0
    store.rename("moved", "again", folder)  # and it can be renamed on: the card catches up
    assert store.read_card(folder / "again").name == "again"


def test_an_entry_deleted_while_listed_is_left_out(model_store, small_model, monkeypatch):
    store.save(small_model, make_card("stays"))
    store.save(small_model, make_card("goes"))
    is_dir, deleted = Path.is_dir, []

    def seen_then_deleted(path):
        found = is_dir(path)
        if path == model_store / "goes" and found and not deleted:
            deleted.append(path)
            store.delete("goes")  # another session, just after this one saw the folder, before its stat
        return found

    monkeypatch.setattr(Path, "is_dir", seen_then_deleted)
    assert [entry.name for entry in store.list_models()] == ["stays"]
    assert deleted


def test_a_model_folder_deleted_while_its_card_is_read_is_left_out(model_store, small_model, monkeypatch):
    store.save(small_model, make_card("stays"))
    store.save(small_model, make_card("goes"))
    read = store.read_card

    def read_then_gone(folder):
        if folder.name == "goes":
            store.delete("goes")
        return read(folder)

    monkeypatch.setattr(store, "read_card", read_then_gone)
    assert [entry.name for entry in store.list_models()] == ["stays"]


def test_every_card_field_has_its_check():
    """A field added to Card without one would make every card that holds it a KeyError."""
    assert set(store.CARD_FIELD_TYPES) == set(store.Card.__dataclass_fields__)
    assert set(store.REQUIRED_CARD_FIELDS) <= set(store.CARD_FIELD_TYPES)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"config": None}, "lacks config"),
        ({"class_names": None}, "lacks class_names"),
        ({"class_names": 5}, "expected class_names to be a list of strings. Received: class_names=5"),
        ({"history": [{"loss": 0.5}]}, 'each with an "epoch"'),
        ({"test_accuracy": "high"}, "expected test_accuracy to be a number or null"),
        ({"samples": {"train": "many"}}, "expected samples to be counts by split"),
        ({"config": {"hidden_units": 5}}, "its config is not a valid MLPConfig"),
        ({"config": {"epochs": "ten"}}, "its config is not a valid MLPConfig"),
        ({"owner": 7}, "expected owner to be a string"),
    ],
)
def test_a_card_with_missing_or_mistyped_fields_is_a_store_error_and_listed_unreadable(
    model_store, small_model, capsys, change, reason
):
    from mnist_mlp import cli

    store.save(small_model, make_card("good"))
    path = store.save(small_model, make_card("odd"))
    values = json.loads((path / store.CARD_FILE).read_text())
    for key, value in change.items():
        if value is None:
            del values[key]
        else:
            values[key] = value
    (path / store.CARD_FILE).write_text(json.dumps(values))
    with pytest.raises(store.StoreError, match=re.escape(reason)):
        store.load("odd")
    entries = {entry.name: entry for entry in store.list_models()}
    assert entries["odd"].card is None and reason in entries["odd"].error
    assert entries["good"].card is not None
    assert cli.main(["evaluate", "--model", "odd"]) == 2
    err = capsys.readouterr().err
    assert reason in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_shipped_default_joins_a_store_without_one_and_is_chosen_first(
    model_store, small_model, tmp_path, monkeypatch
):
    shipped = tmp_path / "shipped"
    monkeypatch.setattr(store, "SHIPPED_STORE", shipped)
    store.save(small_model, make_card("mine"))
    assert store.shipped_default() is None
    assert [e.name for e in store.with_shipped_default(store.list_models())] == ["mine"]
    store.save(small_model, make_card(store.DEFAULT_MODEL), store=shipped)
    assert store.shipped_default() == shipped / store.DEFAULT_MODEL
    listed = [e.name for e in store.with_shipped_default(store.list_models())]
    assert sorted(listed) == sorted(["mine", store.DEFAULT_MODEL])
    assert store.resolve(store.DEFAULT_MODEL) == shipped / store.DEFAULT_MODEL
    assert store.default_choice(["mine", store.DEFAULT_MODEL]) == store.DEFAULT_MODEL
    assert store.default_choice(["newest", "older"]) == "newest"
    assert store.default_choice([]) is None


def test_the_fingerprint_changes_when_a_model_file_is_replaced_in_place(model_store, small_model):
    assert store.fingerprint() == ()  # no store folder yet
    path = store.save(small_model, make_card("first"))
    before = store.fingerprint()
    folder_time = model_store.stat().st_mtime_ns
    model_file = path / store.MODEL_FILE
    model_file.write_bytes(model_file.read_bytes())
    os.utime(model_file, ns=(before[1][1] + 10**9, before[1][1] + 10**9))
    os.utime(model_store, ns=(folder_time, folder_time))  # the folder's own time does not change
    after = store.fingerprint()
    assert after[0] == before[0] and after != before
    assert store.mtime_ns(path / "missing") == 0
