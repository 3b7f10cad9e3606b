"""The Draw page: a hint for an empty canvas, predictions for an uploaded picture, errors for bad files."""

import html
import io
import re

import numpy as np
from PIL import Image

from tests.app.conftest import open_page, texts


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def grid_captions(body: str) -> list[str]:
    """The captions of a widgets.digit_grid, read from its HTML block (empty for any other st.html)."""
    return [html.unescape(caption) for caption in re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", body)]


def test_an_empty_canvas_shows_a_hint_not_a_prediction(app):
    open_page(app, "draw")
    assert any(info.startswith("Draw a digit") for info in texts(app.info))
    assert "Prediction" not in [metric.label for metric in app.metric]
    app.button[0].click().run()  # Clear: the canvas gets a new key
    assert app.session_state["canvas_generation"] == 1
    assert not app.exception


def test_an_uploaded_digit_is_read_as_the_model_reads_it(app, trained, digits):
    from mnist_mlp import images, model, preprocess

    picture = np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8))  # a 112x112 dark-on-light scan
    expected = model.predict(trained.model, preprocess.to_mnist(images.read_image(png(picture)))[None])[0]
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("digit.png", png(picture), "image/png")
    app.run()
    assert not app.exception and not app.error
    prediction = next(metric for metric in app.metric if metric.label == "Prediction")
    assert prediction.value == str(int(expected.argmax()))
    bars = next(html.proto.body for html in app.get("html") if "Probability of each class" in html.proto.body)
    assert re.findall(r">([\d.]+)%</span></div>", bars) == [f"{p:.1%}"[:-1] for p in expected]
    app.toggle(key="draw_steps").set_value(True).run()
    assert not app.exception


def test_an_unreadable_picture_is_refused_with_a_message(app):
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("digit.png", b"not really a png", "image/png")
    app.run()
    assert not app.exception
    assert any("digit.png: not a readable image" in error for error in texts(app.error))


def test_a_blank_picture_gets_the_hint(app):
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    blank = png(np.full((50, 50), 255, np.uint8))
    app.file_uploader(key="draw_upload").upload("blank.png", blank, "image/png")
    app.run()
    assert any(info.startswith("Upload a picture") for info in texts(app.info))


def test_probing_the_drawing_moves_the_probabilities_and_reset_undoes_it(app, trained, digits):
    from mnist_mlp import images, model, preprocess, probe

    scan = png(np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8)))  # dark on light, 112x112
    picture = images.read_image(scan)
    original = model.predict(trained.model, preprocess.to_mnist(picture)[None])[0]
    best = int(original.argmax())

    def expected(setting: probe.Probe, **steps: bool) -> tuple[str, float]:
        """What the probed metric must show: the probed class, and the change for `best`."""
        probed_input = probe.apply(preprocess.prepare(picture, **steps).centred, setting)
        probed = model.predict(trained.model, probed_input[None])[0]
        return str(int(probed.argmax())), float(probed[best] - original[best])

    def shown() -> tuple[str, float]:
        metric = next(metric for metric in app.metric if metric.label == "Probed prediction")
        change, label = metric.delta.split(" for ")
        assert label == str(best)
        return metric.value, float(change.rstrip("%")) / 100

    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("digit.png", scan, "image/png")
    app.run()
    app.toggle(key="probe_open").set_value(True).run()
    assert not app.exception and not app.error
    assert shown() == (str(best), 0.0)  # nothing changed yet: the probed input is the input

    app.slider(key="probe_shift_x").set_value(6.0).run()
    app.slider(key="probe_rotation").set_value(-30.0).run()
    value, change = shown()
    want_value, want_change = expected(probe.Probe(shift_x=6.0, rotation=-30.0))
    assert value == want_value and abs(change - want_change) < 1e-3  # shown to 0.1%
    assert change < -0.05  # moved and turned, the drawing loses the model's confidence

    app.toggle(key="probe_centre").set_value(False).run()  # a preparation step off, live
    value, change = shown()
    want_value, want_change = expected(probe.Probe(shift_x=6.0, rotation=-30.0), centre=False)
    assert value == want_value and abs(change - want_change) < 1e-3  # shown to 0.1%

    app.toggle(key="probe_open").set_value(False).run()  # closing the section keeps its settings
    app.toggle(key="probe_open").set_value(True).run()
    assert app.slider(key="probe_shift_x").value == 6.0 and not app.toggle(key="probe_centre").value

    app.button(key="probe_reset").click().run()
    assert app.slider(key="probe_shift_x").value == 0.0 and app.toggle(key="probe_centre").value
    assert shown() == (str(best), 0.0)
    assert not app.exception


def test_probing_away_almost_all_the_ink_says_so(app):
    from PIL import Image, ImageDraw

    line = Image.new("L", (112, 112), 255)
    ImageDraw.Draw(line).line([(56, 10), (56, 100)], fill=0, width=3)  # a thin 1, dark on light
    upload = io.BytesIO()
    line.save(upload, "PNG")
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("one.png", upload.getvalue(), "image/png")
    app.run()
    app.toggle(key="probe_open").set_value(True).run()
    assert not any(w.startswith("Hardly any ink") for w in texts(app.warning))
    app.slider(key="probe_scale").set_value(0.5).run()
    app.slider(key="probe_stroke").set_value(-2.0).run()  # half the size, 2 px thinner: a faint smudge
    assert any(w.startswith("Hardly any ink is left") for w in texts(app.warning))
    assert not app.exception


def test_draw_saves_the_drawing_with_the_predicted_or_corrected_label(app, digits, trained):
    from mnist_mlp import images, model, my_drawings, preprocess

    picture = np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8))  # a scanned 7
    prepared = preprocess.to_mnist(images.read_image(png(picture)))
    predicted = int(model.predict(trained.model, prepared[None])[0].argmax())
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("digit.png", png(picture), "image/png")
    app.run()
    label_box = next(box for box in app.selectbox if box.key.startswith("draw_save_label_"))
    assert label_box.value == predicted  # preselected to the prediction
    app.button(key="draw_save").click().run()
    assert not app.exception and not app.error
    assert any(toast.value.startswith("Saved as") for toast in app.toast)
    label_box = next(box for box in app.selectbox if box.key.startswith("draw_save_label_"))
    label_box.select(3).run()  # corrected
    app.button(key="draw_save").click().run()
    saved = my_drawings.list_drawings()  # in $MNIST_MLP_DRAWINGS, a temporary folder
    assert [d.label for d in saved] == [predicted, 3]
    np.testing.assert_array_equal(my_drawings.read(saved[1]), (prepared * 255).round().astype(np.uint8))


def test_why_neighbours_and_the_unsure_warning_follow_the_model(app, trained, digits):
    """The Why and Nearest neighbours sections, and the warning, show what mnist_mlp.explain computes."""
    from mnist_mlp import explain, images, neighbours, preprocess, run, unsure

    picture = np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8))
    seen = preprocess.to_mnist(images.read_image(png(picture)))
    expected = explain.explain(trained.model, seen)
    feature_index = neighbours.build_index(explain.features(trained.model, digits.x_train), digits.y_train)
    pixel_index = neighbours.pixel_index(digits.x_train, digits.y_train)
    by_pixels = neighbours.nearest(pixel_index, neighbours.pixel_vectors(seen[None])[0], 8)
    as_seen = neighbours.nearest(feature_index, expected.features, 8)
    detector = run.fallback_detector(trained.model, digits)  # the tiny store's models have none saved
    verdict = unsure.judge(detector, trained.model, seen[None])[0]
    top = explain.top_units(expected, 8)

    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("digit.png", png(picture), "image/png")
    app.run()
    assert not app.exception and not app.error
    assert not {"Nearest neighbours", f"Why {expected.target}?"} & set(texts(app.header))  # until asked
    warnings = [text for text in texts(app.warning) if text.startswith("**Unsure.**")]
    assert warnings == ([f"**Unsure.** {verdict.reason}"] if verdict.unsure else [])
    app.toggle(key="draw_why").set_value(True).run()
    app.toggle(key="draw_neighbours").set_value(True).run()
    assert texts(app.header)[-2:] == [f"Why {expected.target}?", "Nearest neighbours"]
    rise = expected.logits[expected.target] - expected.baseline_logit
    assert any(f"score's rise from a blank image, {rise:+.2f}" in caption for caption in texts(app.caption))
    captions = [image.captions for image in app.image] + [
        grid_captions(block.proto.body) for block in app.get("html")
    ]
    shares = zip(top.indices, top.activations, top.contributions, strict=True)
    units = [f"unit {unit}: fired {a:.2f}, {c:+.2f}" for unit, a, c in shares]
    assert units in captions
    for found in (by_pixels, as_seen):
        pairs = zip(found.labels, found.distances, strict=True)
        assert [f"{label}, {distance:.2f}" for label, distance in pairs] in captions
    warnings = [text for text in texts(app.warning) if text.startswith("**Unsure.**")]
    assert warnings == ([f"**Unsure.** {verdict.reason}"] if verdict.unsure else [])


def test_a_picture_that_is_not_a_digit_is_called_unsure_with_the_reason(app):
    checkerboard = np.kron(np.indices((8, 8)).sum(axis=0) % 2 * 255, np.ones((14, 14))).astype(np.uint8)
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("board.png", png(checkerboard), "image/png")
    app.run()
    assert not app.exception
    warnings = [text for text in texts(app.warning) if text.startswith("**Unsure.**")]
    assert warnings and "It does not look like a digit" in warnings[0]


def test_a_model_without_hidden_layers_is_explained_by_its_template(app, models_folder, small_split, digits):
    from mnist_mlp import cards, model, store, train

    config = model.PRESETS["softmax"].replace(epochs=1, batch_size=64)
    result = train.train(config, small_split)
    card = cards.make_card("flat", result, digits, {"train": 1000}, None)
    store.save(result.model, card, store=models_folder)
    app.session_state["next_model_name"] = "flat"
    open_page(app, "draw")
    app.radio(key="draw_source").set_value("Upload a picture").run()
    picture = np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8))
    app.file_uploader(key="draw_upload").upload("digit.png", png(picture), "image/png")
    app.run()
    app.toggle(key="draw_why").set_value(True).run()
    app.toggle(key="draw_neighbours").set_value(True).run()
    assert not app.exception and not app.error
    predicted = next(metric for metric in app.metric if metric.label == "Prediction").value
    assert [f"{predicted}'s template"] in [image.captions for image in app.image]
    assert any("no hidden layer" in caption for caption in texts(app.caption))
    assert not any(text.startswith("**As the model sees them**") for text in texts(app.markdown))


def test_the_probability_bars_escape_names_and_mark_the_most_likely():
    from ui import charts

    names = [f"class {n}" for n in range(9)] + ["<img src=x onerror=alert(1)>"]
    probabilities = np.full(10, 0.05)
    probabilities[9] = 0.55
    markup = charts.probability_bars_html(probabilities, names)
    assert "<img" not in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup
    rows = markup.split('role="listitem"')[1:]
    assert len(rows) == 10
    assert [("font-weight" in row) for row in rows] == [False] * 9 + [True]
    assert "width:55.0%" in rows[9] and ">55.0%</span>" in rows[9]


def upload_and_save(app, picture: np.ndarray) -> None:
    """Upload `picture` on the Draw page (open) and save it with the label the model read."""
    app.radio(key="draw_source").set_value("Upload a picture").run()
    app.file_uploader(key="draw_upload").upload("digit.png", png(picture), "image/png")
    app.run()
    app.button(key="draw_save").click().run()


def test_a_link_with_a_collection_saves_into_that_collection(models_folder, digits):
    """/draw?collection=lesson 3, the link the class board gives: no name to type on My drawings."""
    from streamlit.testing.v1 import AppTest

    from mnist_mlp import my_drawings
    from tests.app.conftest import APP, PAGES, TIMEOUT

    student = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    student.query_params["collection"] = "lesson 3"
    student.switch_page(PAGES["draw"]).run()
    assert not student.exception and not student.error, texts(student.error)
    upload_and_save(student, np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8)))
    assert not student.exception and not student.error, texts(student.error)
    assert "Saves to the collection `lesson 3`: see them on the My drawings page." in texts(student.caption)
    lesson = my_drawings.collection_dir("lesson 3")
    assert len(list((lesson / "mnist").glob("*.png"))) == 1  # the file is in the lesson's folder
    assert my_drawings.list_drawings("mnist", my_drawings.collection_dir("")) == []  # not the main one
    assert student.query_params["collection"] == "lesson 3"  # the address still names it


def test_a_link_with_a_refused_collection_says_so_and_saves_to_the_main_collection(models_folder, digits):
    from streamlit.testing.v1 import AppTest

    from mnist_mlp import my_drawings
    from tests.app.conftest import APP, PAGES, TIMEOUT

    root = my_drawings.collection_dir("")
    student = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    student.query_params["collection"] = "../lesson 3"
    student.switch_page(PAGES["draw"]).run()
    assert not student.exception
    refused = [error for error in texts(student.error) if error.startswith("This link's collection is")]
    assert refused and "Invalid collection name '../lesson 3'" in refused[0]
    upload_and_save(student, np.kron(255 - digits.x_test[0], np.ones((4, 4), np.uint8)))
    assert not student.exception
    assert texts(student.error) == refused  # still said, on every run
    assert "Saves to the main collection: see them on the My drawings page." in texts(student.caption)
    assert len(my_drawings.list_drawings("mnist", root)) == 1
    assert {path.name for path in root.iterdir()} == {my_drawings.MARKER_FILE, "mnist"}  # no lesson 3
    assert not (root.parent / "lesson 3").exists()
