"""The Models page: compare, rename, delete with confirmation, download, export, and upload .keras files."""

import pytest

from tests.app.conftest import open_page, texts


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


def test_rename_then_delete_only_after_confirming(app, models_folder):
    open_page(app, "models")
    app.selectbox(key="models_pick").select("tiny").run()
    app.text_input(key="models_new_name_tiny").set_value("renamed").run()
    app.button(key="models_rename").click().run()
    assert not app.error, texts(app.error)
    assert (models_folder / "renamed").is_dir() and not (models_folder / "tiny").exists()

    app.selectbox(key="models_pick").select("renamed").run()
    assert app.button(key="models_delete").disabled
    app.checkbox(key="models_sure_renamed").check().run()
    app.button(key="models_delete").click().run()
    assert not app.error, texts(app.error)
    assert not (models_folder / "renamed").exists()
    assert app.sidebar.selectbox(key="model_name").options == ["digits-mlp"]


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
