"""The Class board page: a collection's drawings, what the model read in them, and a fine-tuned copy."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from tests.app.conftest import texts

BOARD = "pages/board.py"


def drawings_root() -> Path:
    return Path(os.environ["MNIST_MLP_DRAWINGS"])  # a temporary folder, set by models_folder


def save_digits(digits, indices, collection: str = "") -> None:
    """Real test digits saved as a class's drawings, with their true labels."""
    from mnist_mlp import my_drawings

    folder = my_drawings.collection_dir(collection)
    for i in indices:
        my_drawings.save(digits.x_test[i], int(digits.y_test[i]), "mnist", folder)


def metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def open_board(app):
    return app.switch_page(BOARD).run()


def test_an_empty_collection_says_drawings_will_appear(app):
    open_board(app)
    assert not app.exception and not app.error, texts(app.error)
    assert app.title[0].value == "Class board"
    assert metrics(app) == {"Drawings": "0", "Read right": "0"}
    assert any("No drawings here yet" in message for message in texts(app.info))


def test_the_board_shows_the_collection_the_session_chose_and_what_the_model_read(app, digits, trained):
    from mnist_mlp import evaluate

    save_digits(digits, range(30), "lesson 3")
    save_digits(digits, range(30, 35))  # the main collection: not on this board
    app.switch_page("pages/drawings.py").run()
    app.text_input(key="drawings_collection_input").input("lesson 3").run()
    open_board(app)
    assert not app.exception and not app.error, texts(app.error)
    assert app.selectbox(key="board_collection").value == "lesson 3"
    assert app.query_params["collection"] == "lesson 3"  # the projector's link names it
    expected = evaluate.evaluate(trained.model, digits.x_test[:30], digits.y_test[:30])
    right = int((expected.predictions == expected.labels).sum())
    shown = metrics(app)
    assert shown["Drawings"] == "30"
    assert shown["Read right"] == f"{right} ({right / 30:.0%})"
    assert [element.value for element in app.header][:3] == [
        "Newest drawings",
        "Read as",
        "Hardest for the model",
    ]
    assert "open this link" in texts(app.caption)[0] and "the collection `lesson 3`" in texts(app.caption)[0]
    assert app.code[0].value == "/draw?collection=lesson%203"  # AppTest has no browser address: relative

    save_digits(digits, range(35, 45), "lesson 3")  # the class goes on saving
    app.run()
    assert metrics(app)["Drawings"] == "40"


def test_a_collection_is_chosen_by_the_address_and_a_bad_name_is_ignored(app, digits):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, TIMEOUT

    save_digits(digits, range(7), "lesson 4")
    linked = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    linked.query_params["collection"] = "lesson 4"
    linked.switch_page(BOARD).run()
    assert not linked.exception and not linked.error
    assert metrics(linked)["Drawings"] == "7"

    hostile = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    hostile.query_params["collection"] = "../outside"
    hostile.switch_page(BOARD).run()
    assert not hostile.exception and not hostile.error
    assert hostile.selectbox(key="board_collection").value == ""  # the main collection instead
    assert not (drawings_root().parent / "outside").exists()


def test_one_click_fine_tunes_a_copy_which_is_saved_and_the_original_is_unchanged(app, digits, models_folder):
    from mnist_mlp import store

    save_digits(digits, range(60), "lesson 5")
    app.query_params["collection"] = "lesson 5"
    original = {path.name: path.read_bytes() for path in (models_folder / "digits-mlp").iterdir()}
    open_board(app)
    app.button(key="board_fine_tune").click().run()
    assert not app.exception and not app.error, texts(app.error)
    tuned = app.session_state["board_tuned"]
    shown = metrics(app)
    assert shown["On the 60 drawings"] == f"{tuned.after_drawings.accuracy:.1%}"
    assert shown["On 1,000 test images"] == f"{tuned.after_test.accuracy:.1%}"
    assert tuned.after_drawings.accuracy > tuned.before_drawings.accuracy  # it learned them

    app.text_input(key=f"board_name_{tuned.suggested_name}").input("digits-mlp").run()
    app.button(key="board_save").click().run()
    assert any("Not saved" in message for message in texts(app.error))  # someone else's name
    app.text_input(key=f"board_name_{tuned.suggested_name}").input("lesson-5-copy").run()
    app.button(key="board_save").click().run()
    assert not app.exception and not app.error, texts(app.error)
    assert any("Saved as 'lesson-5-copy'" in message for message in texts(app.success))
    saved = store.load("lesson-5-copy")
    assert saved.card.owner == app.session_state["owner_id"]
    assert saved.card.samples["drawings"] == 60
    probabilities = saved.model.predict(digits.x_test[:20], verbose=0)
    np.testing.assert_allclose(
        probabilities, tuned.result.model.predict(digits.x_test[:20], verbose=0), atol=1e-5
    )
    assert {path.name: path.read_bytes() for path in (models_folder / "digits-mlp").iterdir()} == original
    assert "lesson-5-copy" in app.selectbox(key="model_name").options  # the picker lists it


def test_a_board_can_open_on_a_collection_nobody_has_saved_to_yet(models_folder, digits):
    """The teacher opens the lesson's board first; the drawings come after."""
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, TIMEOUT

    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app.query_params["collection"] = "lesson 9"
    open_board(app)
    assert not app.exception and not app.error, texts(app.error)
    assert app.selectbox(key="board_collection").value == "lesson 9"
    assert app.selectbox(key="board_collection").options == ["the main collection", "lesson 9"]
    assert metrics(app)["Drawings"] == "0"
    save_digits(digits, range(3), "lesson 9")
    app.run()
    assert metrics(app)["Drawings"] == "3"


def test_the_board_gives_the_class_a_link_that_saves_into_its_collection(models_folder, digits):
    """The link is the Draw page's full address with ?collection=; opened, its drawings reach the board."""
    from urllib.parse import parse_qs, urlsplit

    from streamlit.testing.v1 import AppTest

    from mnist_mlp import my_drawings
    from tests.app.conftest import APP, TIMEOUT
    from tests.app.test_draw_page import upload_and_save

    teacher = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    teacher.context = {"url": "http://school.example:8501/board"}  # the address the projector opened
    teacher.query_params["collection"] = "lesson 3"
    open_board(teacher)
    assert not teacher.exception and not teacher.error, texts(teacher.error)
    link = teacher.code[0].value
    assert link == "http://school.example:8501/draw?collection=lesson%203"

    student = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for param, values in parse_qs(urlsplit(link).query).items():
        student.query_params[param] = values[0]
    student.switch_page(f"pages/{urlsplit(link).path.strip('/')}.py").run()
    upload_and_save(student, np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8)))
    assert not student.exception and not student.error, texts(student.error)
    assert len(my_drawings.list_drawings("mnist", my_drawings.collection_dir("lesson 3"))) == 1
    teacher.run()
    assert metrics(teacher)["Drawings"] == "1"
    assert re.fullmatch(r"just now|\d+ s ago", metrics(teacher)["Last saved"])


def test_a_board_that_cannot_read_says_whether_the_model_or_the_collection_failed(models_folder):
    from mnist_mlp import my_drawings, store
    from ui import board

    entry = next(entry for entry in store.list_models() if entry.name == "tiny")
    drawings = my_drawings.collection_dir("lesson 3") / "mnist"
    (entry.path / store.MODEL_FILE).unlink()
    with pytest.raises(ValueError) as missing_model:  # the store's own error for a missing model file
        store.load(entry.path)
    said = board._read_error(missing_model.value, entry, drawings)
    assert said.startswith("Cannot load the model 'tiny': model.keras: cannot read the file: No such file")
    assert said.endswith("Choose another model in the sidebar.")
    with pytest.raises(OSError) as unreadable:
        (entry.path / store.MODEL_FILE).read_bytes()
    assert board._read_error(unreadable.value, entry, drawings).startswith("Cannot load the model 'tiny'")
    with pytest.raises(OSError) as unlisted:  # the collection's folder cannot be listed
        next(drawings.iterdir())
    assert board._read_error(unlisted.value, entry, drawings) == (
        f"Cannot read the collection {drawings}: No such file or directory. Choose another collection."
    )
