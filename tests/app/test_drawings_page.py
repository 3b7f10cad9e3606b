"""My drawings in the app: browse and delete on their page, evaluate on them, save from Draw, fine-tune."""

import os

import numpy as np

from tests.app.conftest import open_page, texts


def drawings_folder():
    from pathlib import Path

    return Path(os.environ["MNIST_MLP_DRAWINGS"])  # a temporary folder, set by models_folder


def save_digits(digits, count: int, folder=None) -> list:
    """The first `count` real test digits saved as drawings with their true labels."""
    from mnist_mlp import my_drawings

    return [
        my_drawings.save(digits.x_test[i], int(digits.y_test[i]), "mnist", folder or drawings_folder())
        for i in range(count)
    ]


def test_an_empty_collection_points_to_the_draw_page(app):
    open_page(app, "drawings")
    assert not app.exception and not app.error
    assert any(message.startswith("No drawings here yet") for message in texts(app.info))
    assert f"Kept in `{drawings_folder() / 'mnist'}`." in texts(app.caption)


def test_drawings_are_listed_by_label_and_one_can_be_deleted(app, digits):
    from mnist_mlp import my_drawings

    saved = save_digits(digits, 6)
    counts = np.bincount(digits.y_test[:6], minlength=10)
    groups = [f"{label} ({count})" for label, count in enumerate(counts) if count]
    open_page(app, "drawings")
    assert not app.exception and not app.error
    summary = ", ".join(f"{label} {count}" for label, count in enumerate(counts) if count)
    assert texts(app.markdown) == [f"**6** drawings: {summary}"]
    assert texts(app.header) == groups
    assert {button.label for button in app.get("download_button")} == {"Download .npz", "Download IDX (zip)"}
    victim = saved[0]
    app.button(key=f"drawings_delete_{victim.id}").click().run()
    assert not victim.path.exists()
    assert [d.id for d in my_drawings.list_drawings()] == [d.id for d in saved[1:]]
    assert "**5** drawings" in texts(app.markdown)[0]
    last = saved[-1].label
    app.segmented_control(key="drawings_labels").set_value([last]).run()
    assert texts(app.header) == [f"{last} ({counts[last] - (victim.label == last)})"]


def test_a_collection_can_be_chosen_and_other_pages_use_it(app, digits, trained):
    from mnist_mlp import evaluate

    save_digits(digits, 30, drawings_folder() / "lesson 2")
    open_page(app, "drawings")
    app.text_input(key="drawings_collection_input").input("lesson 2").run()
    assert "**30** drawings" in texts(app.markdown)[0]
    assert f"Kept in `{drawings_folder() / 'lesson 2' / 'mnist'}`." in texts(app.caption)
    expected = evaluate.evaluate(trained.model, digits.x_test[:30], digits.y_test[:30])
    open_page(app, "misclassifications")
    app.radio(key="mistakes_data").set_value("my drawings").run()
    assert not app.exception and not app.error, texts(app.error)
    wrong = len(expected.mistakes())
    assert f"of 30 of my drawings right and gets **{wrong:,}** wrong" in app.markdown[0].value
    assert f"reads {expected.accuracy:.2%}" in app.markdown[0].value


def test_misclassifications_on_no_drawings_says_how_to_get_some(app):
    open_page(app, "misclassifications")
    app.radio(key="mistakes_data").set_value("my drawings").run()
    assert not app.exception
    assert any("No digits drawings in" in error and "Draw page" in error for error in texts(app.error))
    app.radio(key="mistakes_data").set_value("the test set").run()
    assert not app.error


def test_continue_training_mixes_in_my_drawings(app, digits):
    from tests.app.test_train_page import train_tiny_model

    train_tiny_model(app)
    app.number_input(key="train_mix_drawings").set_value(4).run()
    app.button(key="train_continue").click().run()
    assert any(error.startswith("Not started: No digits drawings") for error in texts(app.error))
    save_digits(digits, 5)
    app.button(key="train_continue").click().run()
    assert not app.exception and not app.error
    training = app.session_state["training"]
    assert training.samples == {"train": 3600 + 5 * 4, "validation": 400, "test": 1000, "drawings": 5}
    assert training.job.wait(60) and training.job.status == "finished"
    assert training.job.result.epochs_done == 2


def test_a_collection_is_a_name_never_a_path_on_the_server(app, tmp_path):
    outside = tmp_path / "outside"
    open_page(app, "drawings")
    for typed in (str(outside), "../escape", "a/b", "con", "\x07bell"):
        app.text_input(key="drawings_collection_input").input(typed).run()
        assert not app.exception, typed
        assert any("Invalid collection name" in error for error in texts(app.error)), typed
        assert f"Kept in `{drawings_folder() / 'mnist'}`." in texts(app.caption), typed  # unchanged
    assert not outside.exists() and not (drawings_folder().parent / "escape").exists()


def test_a_link_with_a_collection_opens_my_drawings_on_it(models_folder, digits):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, PAGES, TIMEOUT

    save_digits(digits, 4, drawings_folder() / "lesson 2")
    linked = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    linked.query_params["collection"] = "lesson 2"
    linked.switch_page(PAGES["drawings"]).run()
    assert not linked.exception and not linked.error, texts(linked.error)
    assert linked.text_input(key="drawings_collection_input").value == "lesson 2"
    assert "**4** drawings" in texts(linked.markdown)[0]
    linked.text_input(key="drawings_collection_input").input("").run()  # back to the main collection
    assert f"Kept in `{drawings_folder() / 'mnist'}`." in texts(linked.caption)
    assert "collection" not in linked.query_params
