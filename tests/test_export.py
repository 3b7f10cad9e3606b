"""Exports: the SavedModel and the TensorFlow Lite file, loaded back as a user would, agree with Keras."""

import io
import json
import warnings
import zipfile

import numpy as np
import pytest

from mnist_mlp import data, export, store

BATCH_SIZES = (1, 7, 1000)  # 1000 is the whole bundled test set


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """The session's trained model exported in both formats, with a card naming Fashion-MNIST classes."""
    card = store.Card(
        "tiny", trained.config, "fashion_mnist", "test data", list(data.class_names("fashion_mnist"))
    )
    folder = tmp_path_factory.mktemp("exports") / "tiny"
    return export.export(store.LoadedModel(trained.model, card), folder)


def keras_probabilities(trained, images):
    import tensorflow as tf

    return trained.model(tf.constant(images, tf.float32) / 255.0, training=False).numpy()  # (n, 10)


def assert_agrees(classes, probabilities, expected, atol):
    assert classes.shape == (len(expected),) and probabilities.shape == expected.shape
    assert np.mean(classes == expected.argmax(axis=1)) >= 0.999
    np.testing.assert_allclose(probabilities, expected, atol=atol, rtol=0)


@pytest.mark.parametrize("size", BATCH_SIZES)
def test_the_saved_model_agrees_with_keras_on_the_test_set(exported, trained, digits, size):
    import tensorflow as tf

    serve = tf.saved_model.load(str(exported.saved_model)).signatures["serving_default"]
    images = digits.x_test[:size]  # (size, 28, 28) uint8, exactly as the dataset holds them
    result = serve(images=tf.constant(images))
    assert result["classes"].dtype == tf.int32 and result["probabilities"].dtype == tf.float32
    expected = keras_probabilities(trained, images)
    assert_agrees(result["classes"].numpy(), result["probabilities"].numpy(), expected, atol=1e-5)


def test_the_tflite_file_agrees_with_keras_at_any_batch_size(exported, trained, digits):
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's "moving to ai_edge_litert" notice
        interpreter = tf.lite.Interpreter(model_path=str(exported.tflite))
    runner = interpreter.get_signature_runner("serving_default")
    for size in (*BATCH_SIZES, 3):  # one interpreter, resized up and down
        images = digits.x_test[-size:]
        result = runner(images=images)
        assert result["classes"].dtype == np.int32
        assert_agrees(result["classes"], result["probabilities"], keras_probabilities(trained, images), 1e-4)


def test_the_test_set_accuracy_survives_the_export(exported, trained, digits):
    result = export.run_tflite(exported.tflite, digits.x_test)
    keras_accuracy = np.mean(keras_probabilities(trained, digits.x_test).argmax(axis=1) == digits.y_test)
    assert np.mean(result["classes"] == digits.y_test) == pytest.approx(keras_accuracy, abs=1e-3)
    assert keras_accuracy > 0.8  # a real model, not chance


def test_the_export_states_its_contract(exported):
    files = sorted(path.name for path in exported.folder.iterdir())
    assert files == ["README.txt", "export.json", "model.tflite", "saved_model"]
    info = json.loads((exported.folder / "export.json").read_text())
    assert info["class_names"][0] == "T-shirt/top" and len(info["class_names"]) == 10
    assert info["input"] == {**info["input"], "name": "images", "dtype": "uint8", "shape": [None, 28, 28]}
    assert info["outputs"]["probabilities"]["shape"] == [None, 10]
    assert info["card"]["name"] == "tiny" and info["model"] == "tiny"
    assert set(info["checked"]["max_probability_difference_from_keras"]) == {"saved_model", "tflite"}
    assert exported.max_difference["saved_model"] <= 1e-5 and exported.max_difference["tflite"] <= 1e-4
    readme = (exported.folder / "README.txt").read_text()
    assert "uint8, shape (batch, 28, 28)" in readme and "1=Trouser" in readme
    assert not list(exported.folder.parent.glob(".exporting-*"))


def test_the_saved_model_stores_each_weight_once(exported, trained):
    weights = sum(path.stat().st_size for path in (exported.saved_model / "variables").iterdir())
    assert weights < 1.2 * 4 * trained.config.parameter_count  # float32; twice as much if duplicated


@pytest.mark.parametrize("formats", ["savedmodel", "tflite"])
def test_one_format_only(trained, tmp_path, formats):
    done = export.export(trained.model, tmp_path / "one", formats=formats)
    assert (done.saved_model is None) == (formats == "tflite") and (done.tflite is None) == (
        formats != "tflite"
    )
    assert (tmp_path / "one" / "saved_model").is_dir() == (formats == "savedmodel")
    assert (tmp_path / "one" / "model.tflite").is_file() == (formats == "tflite")
    info = json.loads((tmp_path / "one" / "export.json").read_text())
    assert info["class_names"] == [str(d) for d in range(10)] and info["card"] is None
    assert list(done.max_difference) == (["saved_model"] if formats == "savedmodel" else ["tflite"])


def test_an_export_is_never_overwritten_unless_asked(trained, exported, tmp_path):
    folder = tmp_path / "again"
    export.export(trained.model, folder, formats="tflite")
    first = (folder / "export.json").read_text()
    with pytest.raises(export.ExportError, match="already holds an export"):
        export.export(trained.model, folder, formats="tflite")
    assert (folder / "export.json").read_text() == first
    export.export(trained.model, folder, formats="savedmodel", overwrite=True)
    assert (folder / "saved_model").is_dir() and not (folder / "model.tflite").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]  # no temporary folders left


def test_bad_output_paths_are_refused_and_nothing_is_touched(trained, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me too")
    cases = {
        "": "export folder is empty",
        tmp_path / "notes.txt": "is a file; an export is a folder",
        tmp_path / "notes.txt" / "inside": "is a file, so",
        tmp_path / "mine": "not an export, so it is never replaced",
    }
    for out, message in cases.items():
        with pytest.raises(export.ExportError, match=message):
            export.export(trained.model, out, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "notes.txt"]


def test_an_export_into_the_model_store_is_refused(trained, model_store):
    with pytest.raises(export.ExportError, match="inside the model store"):
        export.export(trained.model, model_store / "exported")
    assert not (model_store / "exported").exists()


def test_an_empty_folder_is_used_and_missing_parents_are_made(trained, tmp_path):
    (tmp_path / "empty").mkdir()
    assert export.export(trained.model, tmp_path / "empty", formats="tflite").tflite.is_file()
    assert export.export(trained.model, tmp_path / "a" / "b", formats="tflite").tflite.is_file()


def test_bad_formats_names_and_models_are_refused(trained, tmp_path):
    import keras

    with pytest.raises(export.ExportError, match="Unknown export format 'onnx'"):
        export.export(trained.model, tmp_path / "x", formats="onnx")
    with pytest.raises(export.ExportError, match="Expected 10 class names; received 2"):
        export.export(trained.model, tmp_path / "x", class_names=["a", "b"])
    inputs = keras.Input((28, 28))
    five = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(inputs)))
    with pytest.raises(export.ExportError, match=r"to \(5,\), expected \(10,\)"):
        export.export(five, tmp_path / "x")
    flat = keras.Input((784,))
    with pytest.raises(export.ExportError, match=r"does not take \(n, 28, 28\) images"):
        export.export(keras.Model(flat, keras.layers.Dense(10)(flat)), tmp_path / "x")
    with pytest.raises(store.StoreError, match="Invalid model name"):
        export.export_zip(trained.model, "../escape")
    assert list(tmp_path.iterdir()) == []


def test_the_zip_holds_every_file_under_the_models_name(trained, digits, tmp_path):
    payload = export.export_zip(trained.model, "tiny")
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        names = archive.namelist()
        assert {"tiny/export.json", "tiny/README.txt", "tiny/model.tflite"} <= set(names)
        assert "tiny/saved_model/saved_model.pb" in names and all(n.startswith("tiny/") for n in names)
        archive.extractall(tmp_path)
    result = export.run_tflite(tmp_path / "tiny" / "model.tflite", digits.x_test[:50])
    np.testing.assert_allclose(
        result["probabilities"], keras_probabilities(trained, digits.x_test[:50]), atol=1e-4
    )
