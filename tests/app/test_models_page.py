"""The Models page: compare, rename, delete with confirmation, download, export, and upload .keras files.

Who may rename or delete what is tried with two sessions (two AppTests: each has its own session
state, so its own owner id) over one store.
"""

import pytest

from tests.app.conftest import APP, TIMEOUT, open_page, texts
from tests.ondisk import files_and_bytes


def test_lists_every_model_side_by_side(app):
    open_page(app, "models")
    table = app.dataframe[0].value
    assert list(table["name"]) == ["tiny", "digits-mlp"]
    assert list(table["parameters"]) == [50_890, 50_890]
    assert {"test accuracy", "training seconds", "architecture"} <= set(table.columns)


def test_a_bad_upload_is_refused_with_a_clear_error(app, models_folder):
    open_page(app, "models")
    before = sorted(path.name for path in models_folder.iterdir())
    app.file_uploader(key="models_upload").upload("evil.keras", b"PK\x03\x04 not really a zip")
    app.run()
    app.button(key="models_add").click().run()
    assert not app.exception
    assert any(error.startswith("Refused: evil.keras: not a .keras file") for error in texts(app.error))
    assert sorted(path.name for path in models_folder.iterdir()) == before


def test_a_good_upload_is_checked_saved_and_picked(app, models_folder):
    from mnist_mlp import store

    data = (models_folder / "tiny" / store.MODEL_FILE).read_bytes()
    open_page(app, "models")
    app.file_uploader(key="models_upload").upload("friend.keras", data)
    app.run()
    app.button(key="models_add").click().run()
    assert not app.exception and not app.error, texts(app.error)
    card = store.read_card(models_folder / "friend")
    assert card.config.hidden_units == (64,) and "Uploaded from friend.keras" in card.notes
    assert card.test_accuracy is not None and card.data_source.startswith("unknown: uploaded")
    app.run()
    assert app.sidebar.selectbox(key="model_name").value == "friend"


def upload(at, models_folder, name: str) -> tuple[list[str], list[str]]:
    """Upload the tiny model's .keras file on the Models page under `name`; its errors and successes."""
    from mnist_mlp import store

    data = (models_folder / "tiny" / store.MODEL_FILE).read_bytes()
    open_page(at, "models")
    at.file_uploader(key="models_upload").upload(f"{name}.keras", data)
    at.run()
    at.text_input(key="models_upload_name").set_value(name).run()
    at.button(key="models_add").click().run()
    said = texts(at.error), texts(at.success)
    at.run()  # the listing at the top of the page shows it from the run after
    return said


def test_rename_then_delete_only_after_confirming(app, models_folder):
    errors, successes = upload(app, models_folder, "mine")
    assert not errors and successes[0].startswith("Added 'mine'"), errors
    app.selectbox(key="models_pick").select("mine").run()
    app.text_input(key="models_new_name_mine").set_value("renamed").run()
    app.button(key="models_rename").click().run()
    assert not app.error, texts(app.error)
    assert (models_folder / "renamed").is_dir() and not (models_folder / "mine").exists()

    app.selectbox(key="models_pick").select("renamed").run()
    assert app.button(key="models_delete").disabled
    app.checkbox(key="models_sure_renamed").check().run()
    app.button(key="models_delete").click().run()
    assert not app.error, texts(app.error)
    assert not (models_folder / "renamed").exists()
    assert app.sidebar.selectbox(key="model_name").options == ["tiny", "digits-mlp"]


def test_download_offers_the_keras_file(app, models_folder):
    open_page(app, "models")
    button = app.get("download_button")[0]
    assert button.proto.label == "Download .keras"


def download_buttons(at) -> dict[str, object]:
    return {button.proto.label: button.proto for button in at.get("download_button")}


def test_export_builds_a_zip_to_download_and_keeps_it_across_reruns(app, models_folder):
    open_page(app, "models")
    app.selectbox(key="models_pick").select("tiny").run()
    assert "Download export (.zip)" not in download_buttons(app)
    app.button(key="models_export").click().run()
    assert not app.exception and not app.error, texts(app.error)
    offered = download_buttons(app)["Download export (.zip)"]
    assert offered.url.endswith(".zip")
    size_caption = next(c for c in texts(app.caption) if "a SavedModel and a .tflite file" in c)
    assert float(size_caption.split(" MB")[0]) > 0.1  # the tiny model's 50,890 float32 weights, twice
    app.run()  # another click elsewhere: the export stays offered, made once
    assert download_buttons(app)["Download export (.zip)"].url == offered.url
    assert sorted(path.name for path in models_folder.iterdir()) == ["digits-mlp", "tiny"]


def test_an_export_that_cannot_be_written_says_why(app, models_folder, tmp_path):
    import tempfile

    open_page(app, "models")
    app.selectbox(key="models_pick").select("tiny").run()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))  # no temporary space to write in
        app.button(key="models_export").click().run()
    assert not app.exception
    assert any(e.startswith("Cannot export 'tiny': ") and "gone" in e for e in texts(app.error)), texts(
        app.error
    )
    assert "Download export (.zip)" not in download_buttons(app)
    app.button(key="models_export").click().run()  # space again: a second try works
    assert not app.error and "Download export (.zip)" in download_buttons(app)
    assert app.selectbox(key="models_pick").value == "tiny"


@pytest.fixture
def shipped(models_folder, monkeypatch):
    """The store is the shipped folder too, as with the app's defaults: its digits-mlp is shipped."""
    from mnist_mlp import store

    monkeypatch.setattr(store, "SHIPPED_STORE", models_folder)
    return models_folder


@pytest.fixture
def other_session(models_folder):
    """A second browser session on the same app and store."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    return at


def refused(at, name: str) -> str:
    """The reason shown beside the disabled Rename and Delete of model `name`; checks both are disabled."""
    at.selectbox(key="models_pick").select(name).run()
    assert at.button(key="models_rename").disabled and at.button(key="models_delete").disabled
    assert at.text_input(key=f"models_new_name_{name}").disabled
    assert at.checkbox(key=f"models_sure_{name}").disabled
    [reason] = [c for c in texts(at.caption) if "ships with the app" in c or "Only the browser" in c]
    assert at.button(key="models_delete").proto.help == reason
    return reason


def crafted_delete(at, name: str) -> None:
    """Tick and click the disabled Delete anyway, as a crafted request could (Streamlit's server drops
    a disabled widget's value, and `rights.delete` would refuse it again)."""
    for widget in (at.checkbox(key=f"models_sure_{name}"), at.button(key="models_delete")):
        widget.proto.disabled = False
    at.checkbox(key=f"models_sure_{name}").check()
    at.button(key="models_delete").click().run()


def test_a_session_cannot_delete_or_rename_another_sessions_model_or_a_shipped_one(
    app, other_session, shipped
):
    errors, _ = upload(app, shipped, "alices")
    assert not errors and (shipped / "alices").is_dir(), errors
    before = files_and_bytes(shipped)

    open_page(other_session, "models")
    reason = refused(other_session, "alices")
    assert reason.endswith("can rename, delete or replace it: it was uploaded in another browser session.")
    crafted_delete(other_session, "alices")
    assert refused(other_session, "alices") == reason and files_and_bytes(shipped) == before
    assert refused(other_session, "digits-mlp").startswith("'digits-mlp' ships with the app")
    crafted_delete(other_session, "digits-mlp")
    assert not other_session.exception and files_and_bytes(shipped) == before

    open_page(app, "models")
    assert refused(app, "digits-mlp").startswith("'digits-mlp' ships with the app")  # not even its own
    app.selectbox(key="models_pick").select("alices").run()
    assert not [c for c in texts(app.caption) if "Only the browser" in c]  # its own: no reason to refuse
    app.text_input(key="models_new_name_alices").set_value("alices-2").run()
    assert not app.button(key="models_rename").disabled


def test_an_upload_never_lands_over_someone_elses_name_or_a_shipped_one(app, other_session, shipped):
    upload(app, shipped, "alices")
    before = files_and_bytes(shipped)
    for name, why in (("alices", "it was uploaded in another browser session"),
                      ("digits-mlp", "belongs to a model that ships with the app")):  # fmt: skip
        errors, successes = upload(other_session, shipped, name)
        assert any(e.startswith("Refused: ") and why in e for e in errors), errors
        assert not successes
    assert files_and_bytes(shipped) == before
    errors, successes = upload(app, shipped, "alices")  # its own name: replaced, and said so
    assert not errors and successes[0].startswith("Replaced 'alices'"), errors


def enter_teacher_password(at, password: str) -> None:
    open_page(at, "models")
    at.text_input(key="teacher_password_input").input(password).run()
    at.button(key="teacher_unlock").click().run()


def test_a_teacher_password_gives_every_right_but_over_shipped_models(
    app, other_session, shipped, monkeypatch
):
    from mnist_mlp import store

    monkeypatch.setenv("MNIST_MLP_TEACHER_PASSWORD", "open sesame")
    upload(app, shipped, "alices")
    before = files_and_bytes(shipped)
    enter_teacher_password(other_session, "open sesam")
    assert "Wrong teacher password." in texts(other_session.error)
    refused(other_session, "alices")
    assert files_and_bytes(shipped) == before

    enter_teacher_password(other_session, "open sesame")
    assert not other_session.error and any("Teacher rights are on" in c for c in texts(other_session.caption))
    assert refused(other_session, "digits-mlp").startswith("'digits-mlp' ships with the app")
    other_session.selectbox(key="models_pick").select("alices").run()
    other_session.text_input(key="models_new_name_alices").set_value("seen-by-teacher").run()
    other_session.button(key="models_rename").click().run()
    assert not other_session.error, texts(other_session.error)
    assert store.read_card(shipped / "seen-by-teacher").owner == app.session_state["owner_id"]  # still hers
    assert sorted(p.name for p in shipped.iterdir()) == ["digits-mlp", "seen-by-teacher", "tiny"]
    other_session.selectbox(key="models_pick").select("tiny").run()  # saved before cards said by whom
    other_session.checkbox(key="models_sure_tiny").check().run()
    other_session.button(key="models_delete").click().run()
    assert not other_session.error, texts(other_session.error)
    assert sorted(p.name for p in shipped.iterdir()) == ["digits-mlp", "seen-by-teacher"]


def test_the_teacher_password_may_come_from_secrets_and_without_one_no_one_is_a_teacher(
    app, models_folder, monkeypatch
):
    monkeypatch.delenv("MNIST_MLP_TEACHER_PASSWORD", raising=False)
    open_page(app, "models")
    assert any(c.startswith("No teacher password is set on this server") for c in texts(app.caption))
    assert "teacher_password_input" not in [t.key for t in app.text_input]
    refused(app, "tiny")

    app.secrets["teacher_password"] = "from secrets"
    enter_teacher_password(app, "from secrets")
    assert not app.error and any("Teacher rights are on" in c for c in texts(app.caption))
    app.selectbox(key="models_pick").select("tiny").run()
    app.checkbox(key="models_sure_tiny").check().run()
    assert not app.button(key="models_delete").disabled
