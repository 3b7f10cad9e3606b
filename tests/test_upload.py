"""An uploaded .keras file into the store: checked, tested, carded as an upload, and refused when bad."""

import pytest

from mnist_mlp import rights, store, upload

ALICE = rights.Actor("app", owner="alice")


@pytest.fixture(scope="module")
def payload(trained, tmp_path_factory):
    path = tmp_path_factory.mktemp("file") / "friend.keras"
    trained.model.save(path)
    return path.read_bytes()


def test_an_upload_is_tested_carded_and_saved_under_the_files_name(payload, digits, tmp_path):
    added = upload.add(ALICE, payload, "friend.keras", digits, store_folder=tmp_path)
    assert (added.name, added.path, added.replaced) == ("friend", tmp_path / "friend", False)
    assert len(added.test.labels) == 1000
    card = store.read_card(added.path)
    assert card.config.hidden_units == (64,) and "Uploaded from friend.keras" in card.notes
    assert card.test_accuracy == pytest.approx(added.test.accuracy)
    assert (card.saved_by, card.owner) == ("upload", "alice")
    again = upload.add(ALICE, payload, "friend.keras", digits, name=" friend ", store_folder=tmp_path)
    assert again.replaced  # its own upload, replaced


def test_a_file_that_is_no_keras_model_is_refused(digits, tmp_path):
    with pytest.raises(ValueError, match=r"evil\.keras: not a \.keras file"):
        upload.add(ALICE, b"PK\x03\x04 not really a zip", "evil.keras", digits, store_folder=tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_bad_name_is_refused_before_the_file_is_loaded(digits, tmp_path, monkeypatch):
    from mnist_mlp import safety

    def never(*args, **kwargs):
        raise AssertionError("loaded before the name was checked")

    monkeypatch.setattr(safety, "load_keras_bytes", never)
    for name in ("../x", "a/b"):
        with pytest.raises(ValueError, match="Invalid model name"):
            upload.add(ALICE, b"unused", "friend.keras", digits, name=name, store_folder=tmp_path)
    assert not any(tmp_path.iterdir())
