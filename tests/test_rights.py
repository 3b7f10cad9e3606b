"""Who may change which model: shipped ones nobody, a session its own, a teacher and the CLI the rest."""

import json

import pytest

from mnist_mlp import rights, store
from mnist_mlp.model import MLPConfig, build_model
from tests.ondisk import files_and_bytes

ALICE = rights.Actor("app", "alice-session-id")
BOB = rights.Actor("app", "bob-session-id")
TEACHER = rights.Actor("app", "teacher-session-id", teacher=True)


def make_card(name: str, accuracy: float = 0.9) -> store.Card:
    return store.Card(
        name=name,
        config=MLPConfig(hidden_units=(8,)),
        dataset="mnist",
        data_source="test",
        class_names=[str(d) for d in range(10)],
        test_accuracy=accuracy,
    )


@pytest.fixture(scope="module")
def small_model():
    return build_model(MLPConfig(hidden_units=(8,)))


@pytest.fixture
def shipped_store(model_store, small_model, monkeypatch):
    """The store is the shipped folder, as when the app runs with its defaults: the shipped models and
    one saved from the command line."""
    for name in rights.SHIPPED_MODELS:
        store.save(small_model, make_card(name), store=model_store)
    rights.save(rights.CLI, small_model, make_card("from-cli"))
    monkeypatch.setattr(store, "SHIPPED_STORE", model_store)
    return model_store


@pytest.mark.parametrize("actor", [rights.CLI, TEACHER, ALICE], ids=["cli", "teacher", "session"])
def test_nobody_deletes_renames_or_replaces_a_shipped_model(shipped_store, small_model, actor):
    before = files_and_bytes(shipped_store)
    for name in rights.SHIPPED_MODELS:
        for action in rights.ACTIONS:
            decision = rights.decide(actor, action, name)
            assert not decision.allowed and "ships with the app" in decision.reason
        with pytest.raises(rights.RightsError, match="ships with the app"):
            rights.delete(actor, name)
        with pytest.raises(rights.RightsError, match="ships with the app"):
            rights.rename(actor, name, "mine-now")
        with pytest.raises(rights.RightsError, match="belongs to a model that ships"):
            rights.save(actor, small_model, make_card(name, 0.1), overwrite=True)
    with pytest.raises(rights.RightsError, match="belongs to a model that ships"):
        rights.rename(rights.CLI, "from-cli", "digits-mlp")
    assert files_and_bytes(shipped_store) == before


def test_a_shipped_name_is_reserved_in_another_store_too(shipped_store, small_model, tmp_path):
    other = tmp_path / "other-store"
    with pytest.raises(rights.RightsError, match="belongs to a model that ships"):
        rights.save(rights.CLI, small_model, make_card("digits-mlp"), store_folder=other)
    assert not (other / "digits-mlp").exists()


def test_a_shipped_name_is_free_once_its_folder_is_gone(model_store, small_model, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "SHIPPED_STORE", tmp_path / "nothing-shipped")
    path, replaced = rights.save(rights.CLI, small_model, make_card("fashion-mlp"))
    assert path == model_store / "fashion-mlp" and not replaced  # how its maintainers rebuild it


def test_a_session_changes_its_own_models_and_no_one_elses(shipped_store, small_model):
    path, replaced = rights.save(ALICE, small_model, make_card("alices", 0.5))
    card = store.read_card(path)
    assert (card.saved_by, card.owner, replaced) == ("app", ALICE.owner, False)
    _, replaced = rights.save(BOB, small_model, make_card("bobs"), uploaded=True)
    assert store.read_card(shipped_store / "bobs").saved_by == "upload" and not replaced
    before = files_and_bytes(shipped_store)
    reasons = {
        "alices": "it was saved in another browser session",
        "bobs": "it was uploaded in another browser session",
        "from-cli": "it was saved from the command line",
    }
    for name, why in reasons.items():
        if name == "alices":
            continue
        for action in rights.ACTIONS:
            decision = rights.decide(ALICE, action, name)
            assert not decision.allowed and decision.reason.endswith(why + ".")
        with pytest.raises(rights.RightsError, match="Only the browser session that saved"):
            rights.delete(ALICE, name)
        with pytest.raises(rights.RightsError, match="or a teacher"):
            rights.rename(ALICE, name, "taken-over")
        with pytest.raises(rights.RightsError, match=why):
            rights.save(ALICE, small_model, make_card(name, 0.1), overwrite=True)
    with pytest.raises(rights.RightsError, match="saved in another browser session"):
        rights.delete(BOB, "alices")
    assert files_and_bytes(shipped_store) == before

    _, replaced = rights.save(ALICE, small_model, make_card("alices", 0.7), overwrite=True)
    assert replaced and store.read_card(shipped_store / "alices").test_accuracy == 0.7
    rights.rename(ALICE, "alices", "alices-2")
    assert store.read_card(shipped_store / "alices-2").owner == ALICE.owner  # the card keeps its owner
    rights.delete(ALICE, "alices-2")
    assert not (shipped_store / "alices-2").exists()


def test_a_teacher_and_the_command_line_change_anyones_model(shipped_store, small_model):
    rights.save(ALICE, small_model, make_card("alices"))
    rights.save(BOB, small_model, make_card("bobs"))
    rights.rename(TEACHER, "alices", "renamed-by-teacher")
    rights.delete(TEACHER, "renamed-by-teacher")
    rights.save(rights.CLI, small_model, make_card("bobs", 0.3), overwrite=True)
    assert store.read_card(shipped_store / "bobs").saved_by == "cli"
    rights.delete(rights.CLI, "bobs")
    assert sorted(path.name for path in shipped_store.iterdir()) == ["digits-mlp", "fashion-mlp", "from-cli"]


def test_a_model_whose_card_says_nothing_of_who_saved_it_is_for_the_teacher(shipped_store, small_model):
    store.save(small_model, make_card("older"))  # saved before cards recorded it
    assert rights.decide(ALICE, "delete", "older").reason.endswith("its card does not say who saved it.")
    (shipped_store / "older" / store.CARD_FILE).write_text("{broken")
    assert "its card cannot be read" in rights.decide(ALICE, "delete", "older").reason
    assert rights.decide(TEACHER, "delete", "older").allowed


def test_a_card_with_a_non_ascii_owner_is_someone_elses_not_an_error(shipped_store, small_model):
    path, _ = rights.save(ALICE, small_model, make_card("hand-edited"))
    card = store.read_card(path)
    card.owner = "élève"
    (path / store.CARD_FILE).write_text(json.dumps(card.to_dict()))
    assert rights.decide(ALICE, "delete", "hand-edited").reason.endswith("saved in another browser session.")
    assert rights.decide(rights.Actor("app", "élève"), "delete", "hand-edited").allowed


def test_a_taken_name_is_refused_unless_overwrite_is_asked(shipped_store, small_model):
    rights.save(ALICE, small_model, make_card("alices", 0.5))
    before = files_and_bytes(shipped_store)
    with pytest.raises(store.StoreError, match="already exists"):
        rights.save(ALICE, small_model, make_card("alices", 0.9))
    assert files_and_bytes(shipped_store) == before


@pytest.mark.parametrize(
    ("given", "expected", "matches"),
    [("s3cret", "s3cret", True), ("s3cret ", "s3cret", False), ("", "s3cret", False),
     ("", None, False), ("", "", False), ("anything", None, False), ("ünï", "ünï", True)],
)  # fmt: skip
def test_the_teacher_password_matches_only_itself_and_never_when_unset(given, expected, matches):
    assert rights.password_matches(given, expected) is matches


def test_an_actor_is_checked_at_the_boundary():
    with pytest.raises(ValueError, match=r"Expected kind 'cli' or 'app'\. Received: kind='web'"):
        rights.Actor("web")
    with pytest.raises(ValueError, match="Expected an owner id"):
        rights.Actor("app")
    with pytest.raises(ValueError, match="Expected an action in"):
        rights.decide(rights.CLI, "burn", "x")
