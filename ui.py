"""The app's shared pieces: the model picker, image grids and charts, and every st.cache_* wrapper.

Pages import this module and `mnist_mlp`; TensorFlow is imported only by the wrappers that need it.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from mnist_mlp import data, store

if TYPE_CHECKING:
    from mnist_mlp import evaluate, explain, job, model, probe, train

MAX_TRAININGS = 2  # trainings at once across all sessions; the 2 CPU cores are shared by everyone
POLL_SECONDS = 1.0  # how often the Train page redraws live progress (each redraw costs the trainer)
WEIGHTS_POLL_SECONDS = 2.0  # the live weight mosaic changes slowly and costs more to draw
CHART_POINTS = 300  # batch reports drawn per chart at most
STOP_WAIT_SECONDS = 1.0  # a stopped run ends within ~0.1 s, plus one validation pass
VALIDATION_FRACTION = 0.1
DATASET_LABELS = {"mnist": "MNIST digits", "fashion_mnist": "Fashion-MNIST clothes"}
MODEL_KEY = "model_name"  # session_state: the picker's choice (a model name)
NEXT_MODEL_KEY = "next_model_name"  # session_state: a choice to apply before the picker is drawn
TRAINING_KEY = "training"  # session_state: this session's Training
COMPARE_KEYS = ("compare_a", "compare_b")  # session_state: the Compare page's two Trainings
URL_READ_KEY = "url_params_read"  # session_state: query parameters already applied to their widgets
CANVAS_KEY = "canvas_generation"  # session_state: bumped to give the canvas a new key, clearing it
FULL_DATA_HELP = {
    "mnist": 'run `python -c "import keras; keras.datasets.mnist.load_data()"` once with internet '
    "access (it saves `~/.keras/datasets/mnist.npz`), or copy `mnist.npz` there yourself",
    "fashion_mnist": "install the Debian package `dataset-fashion-mnist`, or run "
    '`python -c "import keras; keras.datasets.fashion_mnist.load_data()"` once with internet access',
}


def _leave_legacy_pages_mode() -> bool:
    """Keep Streamlit from treating pages/ as a legacy (v1) multipage folder; True if it was.

    Until st.navigation has run once in the process, Streamlit 1.67 answers a request for a
    sub-page (say /draw, from a tab left open across a server restart) by running that page's
    file alone, without app.py, and goes on doing so for every session until someone opens /.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a later Streamlit without the legacy mode
        return False
    legacy = bool(PagesManager.uses_pages_directory)
    PagesManager.uses_pages_directory = False
    return legacy


def _rerun_after_import() -> None:
    """Queue a rerun of this session that starts at its next element, not here.

    st.rerun() would raise inside `import ui`, and CPython gives a module whose import failed,
    half run, to every thread that was waiting on the same import: sessions opening a fresh
    server at the same moment would get a `ui` without its functions (AttributeError).
    """
    from streamlit.runtime.scriptrunner import RerunData, get_script_run_ctx

    context = get_script_run_ctx()
    if context is not None and context.script_requests is not None:
        rerun = RerunData(query_string=context.query_string, page_script_hash=context.page_script_hash)
        context.script_requests.request_rerun(rerun)


if _leave_legacy_pages_mode() and st.runtime.exists():
    _rerun_after_import()  # a page imported us without app.py: run again, through app.py this time


# ---- Heavy resources, loaded once per process and shared by all sessions ----------------------


@st.cache_resource(show_spinner="Starting TensorFlow…")
def tensorflow() -> None:
    """Import TensorFlow and Keras once, then exempt their objects from garbage collection.

    Streamlit calls `keras.backend.clear_session()` after every script run, which runs a full
    garbage collection: ~300 ms over TensorFlow's half a million objects, long enough to stall a
    training thread on every poll. Frozen, they are skipped and a collection takes a few ms.
    """
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner="Loading the data…")
def dataset(name: str) -> data.Dataset:
    """The full set when one is on this machine, else the bundled sample; read-only arrays."""
    return data.load(name, allow_download=False)


@st.cache_resource(show_spinner=False)
def training_split(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) of `name`'s training images, the same for the same seed."""
    source = dataset(name)
    arrays = data.split_validation(source.x_train, source.y_train, VALIDATION_FRACTION, seed=seed)
    for array in arrays:
        array.setflags(write=False)  # shared by every session
    return arrays


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _load_model(path: str, modified_ns: int) -> store.LoadedModel:
    tensorflow()
    return store.load(path)


@st.cache_data(show_spinner="Evaluating on the test set…", max_entries=16)
def _evaluation(
    path: str, modified_ns: int, dataset_name: str, source: str, drawings_folder: str = ""
) -> evaluate.Evaluation:
    """`source` is in the key so that a newly found full dataset is not read with a sample's results.

    With `drawings_folder`, the data is my drawings there and `source` is their signature.
    """
    from mnist_mlp import evaluate

    if drawings_folder:
        test = _drawings_dataset(dataset_name, drawings_folder, source)
    else:
        test = dataset(dataset_name)
    return evaluate.evaluate(_load_model(path, modified_ns).model, test.x_test, test.y_test)


@st.cache_data(show_spinner=False, max_entries=2)  # a few MB each; made again if evicted
def _export_zip(path: str, modified_ns: int, name: str) -> bytes:
    from mnist_mlp import export

    return export.export_zip(_load_model(path, modified_ns), name)


@st.cache_data(show_spinner=False)
def _listing(folder: str, fingerprint: tuple, shipped_ns: int) -> list[store.StoredModel]:
    entries = store.list_models(folder)
    names = {entry.name for entry in entries}
    if shipped_ns and store.DEFAULT_MODEL not in names:  # the shipped default serves every store
        entries += [e for e in store.list_models(store.SHIPPED_STORE) if e.name == store.DEFAULT_MODEL]
    return sorted(entries, key=lambda entry: (entry.card is None, -entry.modified, entry.name))


@st.cache_resource
def training_slots() -> threading.Semaphore:
    return threading.Semaphore(MAX_TRAININGS)


def _modified_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


# ---- The store and the model picker ------------------------------------------------------------


def models() -> list[store.StoredModel]:
    """Every model in the store (and the shipped default), newest first, unreadable ones last."""
    folder = store.store_dir()
    shipped = _modified_ns(store.SHIPPED_STORE / store.DEFAULT_MODEL)
    return _listing(str(folder), _fingerprint(folder), shipped)


def _fingerprint(folder: Path) -> tuple:
    """What the listing depends on: the folder and each entry's model file and card, by time of change.

    A model file replaced in place does not touch the folder's own time, so the entries are looked at
    too (a few stat calls per rerun).
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return ()
    files = (store.MODEL_FILE, store.CARD_FILE)
    return (
        _modified_ns(folder),
        *((e.name, *(_modified_ns(Path(e.path) / f) for f in files)) for e in entries if e.is_dir()),
    )


def data_changed() -> None:
    """Forget the loaded datasets (and their splits) after a fuller copy has arrived."""
    dataset.clear()
    training_split.clear()


def store_changed() -> None:
    """Forget the cached listing after this session saved, renamed or deleted a model."""
    _listing.clear()


def _usable_names() -> list[str]:
    return [entry.name for entry in models() if entry.card is not None]


def _chosen(usable: list[str]) -> str | None:
    """The session's choice while it exists, else the default digit model, else the newest."""
    chosen = st.session_state.get(MODEL_KEY)
    if chosen in usable:
        return chosen
    return store.DEFAULT_MODEL if store.DEFAULT_MODEL in usable else next(iter(usable), None)


def model_picker() -> str | None:
    """The sidebar's model choice, shared by every page (app.py draws it before the page)."""
    state = st.session_state
    if NEXT_MODEL_KEY in state:
        state[MODEL_KEY] = state.pop(NEXT_MODEL_KEY)
    usable = _usable_names()
    if not usable:
        st.sidebar.caption("No saved models yet: train one.")
        return None
    url_bound("model", MODEL_KEY, usable, store.DEFAULT_MODEL)
    chosen = _chosen(usable)
    if state.get(MODEL_KEY) != chosen:
        state[MODEL_KEY] = chosen  # before the widget exists this run, so it needs no default
    return st.sidebar.selectbox("Model", usable, key=MODEL_KEY, help="Used by every page")


def select_model(name: str) -> None:
    """Make the picker choose `name` from the next run on."""
    st.session_state[NEXT_MODEL_KEY] = name


def current_entry() -> store.StoredModel | None:
    """The picked model's store entry; None when the store holds no usable model."""
    name = _chosen(_usable_names())
    return next((entry for entry in models() if entry.name == name), None)


def current_model() -> store.LoadedModel | None:
    """The picked model, loaded once per file version; a message instead when there is none."""
    entry = current_entry()
    if entry is None:
        no_model()
        return None
    return load_entry(entry)


def load_entry(entry: store.StoredModel) -> store.LoadedModel | None:
    """A store entry's model, loaded once per file version; None, with the reason shown, if it cannot be."""
    try:
        return _load_model(str(entry.path), _modified_ns(entry.path / store.MODEL_FILE))
    except (ValueError, OSError) as err:
        st.error(f"Cannot load the model {entry.name!r}: {err}")
        return None


def evaluation(entry: store.StoredModel, on_drawings: bool = False) -> evaluate.Evaluation | None:
    """The entry's results on its dataset's test set (or on my drawings), computed once per model file."""
    try:
        modified = _modified_ns(entry.path / store.MODEL_FILE)
        name = dataset_name(entry.card)
        if on_drawings:
            folder = drawings_folder()
            signature = _drawings_signature(name, folder)
            return _evaluation(str(entry.path), modified, name, signature, str(folder))
        return _evaluation(str(entry.path), modified, name, dataset(name).source)
    except (ValueError, OSError) as err:
        st.error(f"Cannot evaluate the model {entry.name!r}: {err}")
        return None


def export_zip(entry: store.StoredModel) -> bytes:
    """The entry as a SavedModel and a .tflite file taking uint8 images, zipped; once per model file.

    Raises:
        ValueError: the model cannot be exported. OSError: no room for the temporary files.
    """
    return _export_zip(str(entry.path), _modified_ns(entry.path / store.MODEL_FILE), entry.name)


def dataset_name(card: store.Card | None) -> str:
    """The dataset a model reads: its card's, when that is one we have, else MNIST."""
    return card.dataset if card is not None and card.dataset in data.DATASETS else "mnist"


def class_names(card: store.Card | None) -> list[str]:
    if card is not None and len(card.class_names) == 10:
        return list(card.class_names)
    return list(data.class_names(dataset_name(card)))


def predict(loaded: store.LoadedModel, image: np.ndarray) -> np.ndarray:
    """(10,) class probabilities for one (28, 28) image in [0, 1]."""
    from mnist_mlp import model

    return model.predict(loaded.model, image[None])[0]


def full_data_help(name: str) -> str:
    """How to get the full 70,000 images of a dataset instead of the bundled sample."""
    return f"For the full 70,000 images, {FULL_DATA_HELP[name]}; then restart the app."


def no_model() -> None:
    st.info("No model yet: train one (it takes a minute), or upload a .keras file on the Models page.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")


# ---- This session's training ----------------------------------------------------------------------


@dataclass
class Training:
    """What one person is training or just trained; kept in st.session_state."""

    job: job.TrainingJob
    dataset: str  # the dataset's name
    samples: dict[str, int]  # train / validation / test image counts
    history: list[dict[str, float]] = field(default_factory=list)  # epochs of earlier runs
    test: evaluate.Evaluation | None = None  # set when evaluated on the test set
    saved_as: str | None = None
    suggested_name: str = ""  # a name to save under, unique to the second it started


def training(key: str = TRAINING_KEY) -> Training | None:
    """This session's Training kept under `key` (the Train page's, or one of COMPARE_KEYS)."""
    return st.session_state.get(key)


def start_training(
    config: model.MLPConfig,
    dataset_name: str,
    previous: Training | None = None,
    epochs: int | None = None,
    key: str = TRAINING_KEY,
    mix_drawings: int = 0,
) -> Training:
    """Start a background job for this session (queued when others hold every slot), kept under `key`.

    `mix_drawings` > 0 adds my drawings to the training images, each that many times (fine-tuning);
    DrawingsError (a ValueError) when there are none.
    """
    from mnist_mlp import job

    split = training_split(dataset_name, config.seed)
    mixed = {}
    if mix_drawings:
        from mnist_mlp import drawings

        mine = my_drawings(dataset_name)
        split = (*drawings.mix(split[0], split[1], mine.x_train, mine.y_train, mix_drawings), *split[2:])
        mixed = {"drawings": len(mine.y_train)}
    tensorflow()
    earlier = previous.job.result if previous is not None else None
    training_job = job.TrainingJob(config, *split, previous=earlier, epochs=epochs, slots=training_slots())
    samples = {"train": len(split[0]), "validation": len(split[2]), "test": len(dataset(dataset_name).y_test)}
    samples |= mixed
    history = list(earlier.history) if earlier is not None else []
    name = f"{dataset_name}-{config.architecture}-{time.strftime('%Y%m%d-%H%M%S')}"
    session = Training(training_job.start(), dataset_name, samples, history, suggested_name=name)
    weakref.finalize(session, training_job.stop)  # a closed session's state is dropped: stop its run
    st.session_state[key] = session
    return session


def stop_training(*keys: str) -> None:
    """A callback: stop this session's runs (the Train page's by default) and give them a second to end."""
    sessions = [training(key) for key in keys or (TRAINING_KEY,)]
    for session in filter(None, sessions):
        session.job.stop()
    for session in filter(None, sessions):
        session.job.wait(STOP_WAIT_SECONDS)


def evaluate_training(session: Training) -> evaluate.Evaluation:
    """This session's model on its dataset's test set; kept with the session."""
    from mnist_mlp import evaluate

    test = dataset(session.dataset)
    session.test = evaluate.evaluate(session.job.result.model, test.x_test, test.y_test)
    return session.test


def save_training(session: Training, name: str) -> None:
    """Save this session's model with its card (tested first) and make it the picked model.

    Raises:
        ValueError: a bad or taken name. OSError: the store cannot be written.
    """
    from mnist_mlp import job

    result = session.job.result
    test = session.test or evaluate_training(session)
    card = job.make_card(name, result, dataset(session.dataset), session.samples, test, "Trained in the app.")
    store.save(result.model, card, snapshots=result.snapshots)
    session.saved_as = name
    store_changed()
    select_model(name)


def sidebar_status() -> None:
    """A line in the sidebar while this session trains, whichever page is open."""
    session = training()
    if session is not None and not session.job.done:
        st.sidebar.caption("A training of yours runs in the background; the Train page shows it.")
    if any(run is not None and not run.job.done for run in map(training, COMPARE_KEYS)):
        st.sidebar.caption("Your two compared runs train in the background; the Compare page shows them.")


# ---- Widgets ------------------------------------------------------------------------------------


def model_card(card: store.Card) -> None:
    """A model's card: what it is, how well it reads, and what it was trained on."""
    st.subheader(card.name)
    accuracy, parameters, where, epochs = st.columns(4)
    tested = f"{card.test_accuracy:.2%}" if card.test_accuracy is not None else "not tested"
    accuracy.metric("Test accuracy", tested)
    parameters.metric("Parameters", f"{card.config.parameter_count:,}")
    where.metric("Dataset", DATASET_LABELS.get(card.dataset, card.dataset))
    epochs.metric("Epochs", f"{card.epochs:g}")
    config = card.config
    trained_on = f"{card.samples['train']:,} images" if "train" in card.samples else "unknown data"
    st.caption(
        f"{config.architecture} ({config.activation}, dropout {config.dropout_rate:g}), "
        f"{config.optimizer} at learning rate {config.learning_rate:g}, batch {config.batch_size}"
        f"{', augmented' if config.augment else ''}. Trained for {card.training_seconds:,.0f} s on "
        f"{trained_on} from {card.data_source}. Created {card.created[:16].replace('T', ' ')}."
    )
    if card.notes:
        st.caption(card.notes)


def _pixels(image: np.ndarray, scale: int) -> np.ndarray:
    """A (28, 28) image in [0, 1] or 0..255 as uint8, each pixel a scale x scale block."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    return np.kron(image, np.ones((scale, scale), np.uint8)) if image.ndim == 2 else image


def digit(image: np.ndarray, caption: str | None = None, size: int = 140) -> None:
    """One image shown large, with sharp pixels."""
    st.image(_pixels(image, max(1, size // max(image.shape[:2]))), caption=caption, width=size)


def digit_grid(images: np.ndarray, captions: list[str], size: int = 84) -> None:
    """Images (n, 28, 28) in a wrapping grid, each with its caption."""
    if len(images):
        st.image([_pixels(image, size // 28) for image in images], caption=captions)


def probability_chart(probabilities: np.ndarray, names: list[str]) -> None:
    """The 10 class probabilities as bars, in class order."""
    import pandas as pd

    table = pd.DataFrame({"class": names, "probability": np.asarray(probabilities, float)})
    st.bar_chart(table, x="class", y="probability", sort=False, height=240)


def diverging(weights: np.ndarray, shared_scale: bool) -> np.ndarray:
    """(n, 28, 28) weights as (n, 28, 28, 3) uint8: blue negative, white zero, red positive."""
    weights = np.asarray(weights, np.float32)
    axes = None if shared_scale else (1, 2)
    scale = np.abs(weights).max(axis=axes, keepdims=True) + 1e-12
    t = np.clip(weights / scale, -1, 1)[..., None]  # (n, 28, 28, 1) in [-1, 1]
    red, blue = np.array([0.70, 0.09, 0.17]), np.array([0.13, 0.40, 0.67])  # RdBu's ends
    rgb = np.where(t > 0, 1 + t * (red - 1), 1 - t * (blue - 1))
    return (rgb * 255).round().astype(np.uint8)


def weight_grid(weights: np.ndarray, shared_scale: bool = False, columns: int = 8, scale: int = 3) -> None:
    """First-layer weights (units, 28, 28) as one mosaic of coloured 28x28 tiles."""
    tiles = diverging(weights, shared_scale)
    count = len(tiles)
    rows = -(-count // columns)
    mosaic = np.full((rows * 29 + 1, columns * 29 + 1, 3), 40, np.uint8)  # 1-px dark gaps
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        mosaic[1 + row * 29 : 29 + row * 29, 1 + column * 29 : 29 + column * 29] = tile
    st.image(np.kron(mosaic, np.ones((scale, scale, 1), np.uint8)))
    st.caption("Red: ink there raises the unit's input; blue: ink lowers it; white: no effect.")


def history_charts(rows: list[dict[str, float]]) -> None:
    """Loss and accuracy against epochs: training (running mean) and validation (each epoch).

    Plain Vega-Lite specs rather than Altair objects: ~3 ms a redraw instead of ~50 ms, which
    matters while a poll redraws them every second beside a training thread.
    """
    import pandas as pd

    long = [
        {"epoch": row["epoch"], "metric": metric, "split": split, "value": row[key]}
        for row in rows
        for metric in ("loss", "accuracy")
        for split, key in (("training", metric), ("validation", f"val_{metric}"))
        if row.get(key) is not None
    ]
    if not long:
        return
    table = pd.DataFrame(long)
    for column, metric in zip(st.columns(2), ("loss", "accuracy"), strict=True):
        spec = {
            "height": 220,
            "encoding": {
                "x": {"field": "epoch", "type": "quantitative"},
                "y": {"field": "value", "type": "quantitative", "title": metric, "scale": {"zero": False}},
                "color": {"field": "split", "type": "nominal", "title": None},
            },
            "layer": [
                {"transform": [{"filter": "datum.split == 'training'"}], "mark": "line"},
                {
                    "transform": [{"filter": "datum.split == 'validation'"}],
                    "mark": {"type": "line", "point": True},
                },
            ],
        }
        column.vega_lite_chart(table[table.metric == metric], spec)


def progress_rows(points: tuple[train.Progress, ...], limit: int = CHART_POINTS) -> list[dict[str, float]]:
    """Training progress reports as chart rows, batch reports at fractional epochs, at most ~`limit`."""
    step = max(1, len(points) // limit)
    return [
        {"epoch": p.epoch - 1 + p.batch / max(p.batches, 1), "loss": p.loss, "accuracy": p.accuracy,
         "val_loss": p.val_loss, "val_accuracy": p.val_accuracy}
        for index, p in enumerate(points)
        if p.kind == "epoch" or index % step == 0 or index == len(points) - 1
    ]  # fmt: skip


def canvas_key() -> str:
    return f"canvas_{st.session_state.get(CANVAS_KEY, 0)}"


def clear_canvas() -> None:
    """A callback: the canvas gets a new key, which is what clears streamlit-drawable-canvas 0.13."""
    st.session_state[CANVAS_KEY] = st.session_state.get(CANVAS_KEY, 0) + 1


def history_overlay(runs: dict[str, list[dict[str, float]]]) -> None:
    """Several runs' loss and accuracy against epochs in one chart per metric, a colour per run.

    Training (running mean) is a solid line, validation a dashed line with a point per epoch.
    `runs` maps a run's label to its rows, as `history_charts` takes them.
    """
    import pandas as pd

    long = [
        {"epoch": row["epoch"], "metric": metric, "run": run, "split": split, "value": row[key]}
        for run, rows in runs.items()
        for row in rows
        for metric in ("loss", "accuracy")
        for split, key in (("training", metric), ("validation", f"val_{metric}"))
        if row.get(key) is not None
    ]
    if not long:
        return
    table = pd.DataFrame(long)
    for column, metric in zip(st.columns(2), ("loss", "accuracy"), strict=True):
        spec = {
            "height": 240,
            "encoding": {
                "x": {"field": "epoch", "type": "quantitative"},
                "y": {"field": "value", "type": "quantitative", "title": metric, "scale": {"zero": False}},
                "color": {"field": "run", "type": "nominal", "title": None, "sort": list(runs)},
                "strokeDash": {"field": "split", "type": "nominal", "title": None},
            },
            "layer": [
                {"transform": [{"filter": "datum.split == 'training'"}], "mark": "line"},
                {
                    "transform": [{"filter": "datum.split == 'validation'"}],
                    "mark": {"type": "line", "point": True},
                },
            ],
        }
        column.vega_lite_chart(table[table.metric == metric], spec)


# ---- Links: a page's settings in the URL's query parameters ---------------------------------------


def _url_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def url_bound(param: str, key: str, allowed: Sequence[Any] | Callable[[str], Any], default: Any) -> None:
    """Tie the widget with session_state `key` to the URL's query parameter `param`; call before the widget.

    The first time a session meets `param`, its value in the URL becomes the widget's value, so a
    shared link opens the same view; a bad value (a hand-edited link) is ignored and the widget keeps
    its default. From then on the widget's value is written to the URL, and left out while it equals
    `default`, which keeps links short.

    Args:
        allowed: the widget's options (the URL holds their text: "3", "true", "softmax"), or a
            function from the URL's text to a value that raises ValueError for a bad one.
        default: the value the widget has when the URL does not say.
    """
    state = st.session_state
    read = state.setdefault(URL_READ_KEY, set())
    if param not in read:
        read.add(param)
        text = st.query_params.get(param)
        if text is not None:
            try:
                if callable(allowed):
                    state[key] = allowed(text)
                else:
                    state[key] = next(option for option in allowed if _url_text(option) == text)
            except (ValueError, StopIteration):
                pass  # not a value this widget can take: it keeps its default
    if key in state and state[key] != default:
        if st.query_params.get(param) != _url_text(state[key]):
            st.query_params[param] = _url_text(state[key])
    elif param in st.query_params:
        del st.query_params[param]


def int_in(low: int, high: int) -> Callable[[str], int]:
    """A parser for `url_bound`: the URL's text as an integer in low..high, else ValueError."""

    def parse(text: str) -> int:
        number = int(text)
        if not low <= number <= high:
            raise ValueError(f"Expected an integer in {low}..{high}. Received: {number}.")
        return number

    return parse


def class_link() -> None:
    """The address of this page as set up now, to share: it opens the same view for everyone."""
    from urllib.parse import urlencode

    query = urlencode(st.query_params.to_dict())
    link = (st.context.url or "") + (f"?{query}" if query else "")
    with st.popover("Link for the class", icon=":material/link:"):
        st.caption("Anyone who opens this link sees this page set up as it is now.")
        st.code(link or "(this page with its default settings)", language=None)


# ---- My drawings: the collection saved from the Draw page ------------------------------------------

DRAWINGS_COLLECTION_KEY = "drawings_collection"  # session_state: a collection named on My drawings


def drawings_folder() -> Path:
    """This session's drawings folder: the collection named on the My drawings page, else the default."""
    from mnist_mlp import drawings

    try:
        return drawings.collection_dir(st.session_state.get(DRAWINGS_COLLECTION_KEY, ""))
    except ValueError:  # a bad name is refused where it is typed; until then the default serves
        return drawings.drawings_dir()


def _drawings_signature(name: str, folder: Path) -> str:
    from mnist_mlp import drawings

    return drawings.signature(name, folder)


@st.cache_resource(show_spinner=False, max_entries=4)
def _drawings_dataset(name: str, folder: str, signature: str) -> data.Dataset:
    """`signature` is in the key so that a save or delete is seen at once."""
    from mnist_mlp import drawings

    return drawings.as_dataset(name, folder)


def my_drawings(name: str) -> data.Dataset:
    """My drawings of dataset `name` in this session's folder, read once per change.

    Raises:
        DrawingsError: there are none (a ValueError, with what to do).
    """
    folder = drawings_folder()
    return _drawings_dataset(name, str(folder), _drawings_signature(name, folder))


def test_data(card: store.Card | None, on_drawings: bool = False) -> data.Dataset:
    """The images `evaluation(entry, on_drawings)` scored: the test set, or my drawings."""
    name = dataset_name(card)
    return my_drawings(name) if on_drawings else dataset(name)


def save_drawing_form(image: np.ndarray, predicted: int, names: list[str], dataset_name: str) -> None:
    """Save the drawing with its true label: the prediction, unless corrected; a toast says where."""
    from mnist_mlp import drawings

    label_column, button_column = st.columns([2, 1], vertical_alignment="bottom")
    label = label_column.selectbox(
        "It really is",
        range(10),
        index=predicted,
        format_func=lambda index: names[index],
        key=f"draw_save_label_{canvas_key()}_{predicted}",  # follows the prediction until corrected
        help="Saved drawings make a dataset of your own: see the My drawings page.",
    )
    if button_column.button("Save this drawing", key="draw_save", icon=":material/bookmark_add:"):
        try:
            saved = drawings.save(image, label, dataset_name, drawings_folder())
        except (ValueError, OSError) as err:
            st.error(f"Not saved: {err}")
        else:
            count = len(drawings.list_drawings(dataset_name, drawings_folder()))
            st.toast(f"Saved as {names[saved.label]}: {count} drawings in {saved.path.parent}", icon="✅")


# ---- Probe the drawing (Draw page): move, turn, resize or thicken the input, or skip a step ------

PROBE_SLIDERS = {  # session_state key: probe.Probe field, label, min, max, step, default, help
    "probe_shift_x": ("shift_x", "Shift right (px)", -10.0, 10.0, 0.5, 0.0, "Negative: to the left."),
    "probe_shift_y": ("shift_y", "Shift down (px)", -10.0, 10.0, 0.5, 0.0, "Negative: up."),
    "probe_rotation": ("rotation", "Rotate (degrees)", -180.0, 180.0, 5.0, 0.0, "Anticlockwise."),
    "probe_scale": ("scale", "Scale", 0.5, 2.0, 0.05, 1.0, "Size about the ink's centre of mass."),
    "probe_stroke": ("stroke", "Stroke width (px added)", -2.0, 4.0, 0.5, 0.0, "Negative: thinner."),
}
PROBE_SWITCHES = {  # session_state key: drawing.prepare argument, label, what happens without it
    "probe_crop": ("crop", "Crop to the ink", "Off: the whole canvas is shrunk, the empty space with it."),
    "probe_fit": ("scale", "Scale to 20 px", "Off: the drawing keeps its size relative to the canvas."),
    "probe_centre": (
        "centre",
        "Centre by mass",
        "Off: the ink's box is centred instead (with cropping off too, the drawing stays where it was).",
    ),
    "probe_strokes": ("stroke", "Strokes to MNIST's width", "Off: strokes stay as scaling makes them."),
}


@dataclass(frozen=True)
class ProbeSettings:
    """The probe's switches and sliders as the library takes them."""

    steps: dict[str, bool]  # drawing.prepare's crop, scale, centre and stroke switches
    transform: probe.Probe  # what to do to the prepared 28x28 input


def probe_controls() -> ProbeSettings:
    """The probe's sliders, preparation switches and Reset button; their current settings."""
    from mnist_mlp import probe

    state = st.session_state
    for key, (*_, default, _help) in PROBE_SLIDERS.items():
        state.setdefault(key, default)  # set before the widget, so the widget needs no default
    for key in PROBE_SWITCHES:
        state.setdefault(key, True)
    sliders, switches = st.columns([3, 2], gap="large")
    with sliders:
        values = {
            field: st.slider(label, low, high, step=step, key=key, help=help)
            for key, (field, label, low, high, step, _default, help) in PROBE_SLIDERS.items()
        }
    with switches:
        st.caption("Preparation steps")
        steps = {
            argument: st.toggle(label, key=key, help=help)
            for key, (argument, label, help) in PROBE_SWITCHES.items()
        }
        st.button("Reset", on_click=reset_probe, icon=":material/restart_alt:", key="probe_reset")
    return ProbeSettings(steps, probe.Probe(**{field: float(value) for field, value in values.items()}))


def reset_probe() -> None:
    """A callback: every probe slider and switch back to its default (no change, every step on)."""
    for key, (*_, default, _help) in PROBE_SLIDERS.items():
        st.session_state[key] = default
    for key in PROBE_SWITCHES:
        st.session_state[key] = True


def probe_comparison(
    loaded: store.LoadedModel, names: list[str], original: np.ndarray, probed: np.ndarray
) -> None:
    """The prepared input and the probed one side by side, with both sets of probabilities."""
    import pandas as pd

    before, after = predict(loaded, original), predict(loaded, probed)  # (10,) each
    best, probed_best = int(before.argmax()), int(after.argmax())
    left, right = st.columns(2)
    with left:
        digit(original, "As prepared", size=140)
        st.metric("Prediction as prepared", names[best], help=f"{before[best]:.1%} sure")
    with right:
        digit(probed, "Probed", size=140)
        change = f"{after[best] - before[best]:+.1%} for {names[best]}"
        sure = f"{after[probed_best]:.1%} sure"
        st.metric("Probed prediction", names[probed_best], delta=change, help=sure)
    table = pd.DataFrame(
        {
            "class": names * 2,
            "probability": np.concatenate([before, after]).astype(float),
            "input": ["as prepared"] * len(names) + ["probed"] * len(names),
        }
    )
    st.bar_chart(table, x="class", y="probability", color="input", stack=False, sort=False, height=240)
    st.caption(
        "Each of the model's 784 inputs is one fixed pixel: it has no idea that a shifted, turned or "
        "bigger digit is the same shape. That is why every drawing is cropped, scaled and centred first."
    )


# ---- Why this prediction, nearest neighbours and the "unsure" warning (mnist_mlp.explain) --------

UNITS_SHOWN = 8  # hidden units shown in the "why" view
NEIGHBOURS_SHOWN = 8  # training images shown per kind of distance


@st.cache_resource(show_spinner="Indexing the training images…", max_entries=2)
def _pixel_index(dataset_name: str, source: str) -> explain.NeighbourIndex:
    """The training images as (n, 784) vectors; `source` keys a fuller copy found later."""
    from mnist_mlp import explain

    training_images = dataset(dataset_name)
    return explain.build_index(explain.pixel_vectors(training_images.x_train), training_images.y_train)


@st.cache_resource(show_spinner="Measuring how far test images lie from the training images…", max_entries=2)
def _pixel_calibration(dataset_name: str, source: str) -> explain.Calibration:
    from mnist_mlp import explain

    test_images = dataset(dataset_name).x_test
    return explain.calibrate(_pixel_index(dataset_name, source), explain.pixel_vectors(test_images))


@st.cache_resource(show_spinner="Reading the training images through the model…", max_entries=2)
def _feature_index(
    path: str, modified_ns: int, dataset_name: str, source: str
) -> tuple[explain.NeighbourIndex, explain.Calibration]:
    """The training images as the model's output layer reads them, and the test set's typical distance."""
    from mnist_mlp import explain

    keras_model = _load_model(path, modified_ns).model
    images = dataset(dataset_name)
    index = explain.build_index(explain.features(keras_model, images.x_train), images.y_train)
    return index, explain.calibrate(index, explain.features(keras_model, images.x_test))


def _reading_space(
    loaded: store.LoadedModel, explained: explain.Explanation
) -> tuple[explain.NeighbourIndex, explain.Calibration] | None:
    """Where the model compares images: its last hidden layer, or the pixels when it has none."""
    name = dataset_name(loaded.card)
    source = dataset(name).source
    if explained.unit_activations.size == 0:
        return _pixel_index(name, source), _pixel_calibration(name, source)
    if loaded.path is None:
        return None
    return _feature_index(str(loaded.path), _modified_ns(loaded.path / store.MODEL_FILE), name, source)


def explanation(
    loaded: store.LoadedModel, image: np.ndarray, target: int | None = None
) -> explain.Explanation | None:
    """Why the model reads a (28, 28) image as it does; None, with a note, for a model we cannot explain."""
    from mnist_mlp import explain

    try:
        return explain.explain(loaded.model, image, target)
    except explain.ExplainError as err:
        st.info(f"No explanation for this model: {err}")
        return None


def unsure_warning(loaded: store.LoadedModel, image: np.ndarray, explained: explain.Explanation) -> None:
    """A warning beside the prediction when the top probability is low or the (28, 28) image looks
    unlike the training images, by its pixels or as the model's last hidden layer sees it."""
    from mnist_mlp import explain

    name = dataset_name(loaded.card)
    source = dataset(name).source
    pixels = explain.nearest(_pixel_index(name, source), explain.pixel_vectors(image[None])[0], 1)
    calibration = _pixel_calibration(name, source)
    distances = [explain.Distance("in its pixels", float(pixels.distances[0]), calibration)]
    space = _reading_space(loaded, explained)
    if explained.unit_activations.size and space is not None:
        seen = explain.nearest(space[0], explained.features, 1)
        distances.append(explain.Distance("as the model sees it", float(seen.distances[0]), space[1]))
    verdict = explain.verdict(explained.probabilities, distances)
    if verdict.unsure:
        st.warning(f"**Unsure.** {verdict.reason}", icon=":material/help:")


def saliency(image: np.ndarray, attribution: np.ndarray, scale: int = 7) -> np.ndarray:
    """A (28, 28) image with its (28, 28) attribution laid over it, as (28s, 28s, 3) uint8.

    The ink is light grey on white; red marks pixels that raised the score, blue ones that lowered
    it, stronger for larger shares (relative to the largest, on a square-root scale).
    """
    ink = np.asarray(image, np.float32) / (255 if np.asarray(image).dtype == np.uint8 else 1)
    share = np.asarray(attribution, np.float32)
    share = np.clip(share / (np.abs(share).max() + 1e-12), -1, 1)[..., None]  # (28, 28, 1) in [-1, 1]
    grey = np.repeat((1 - 0.3 * ink)[..., None], 3, axis=2)
    red, blue = np.array([0.70, 0.09, 0.17]), np.array([0.13, 0.40, 0.67])  # diverging()'s ends
    strength = np.sqrt(np.abs(share))  # lifts the middling shares, which linear colours hide
    rgb = grey * (1 - strength) + np.where(share > 0, red, blue) * strength
    return np.kron((rgb * 255).round().astype(np.uint8), np.ones((scale, scale, 1), np.uint8))


def unit_tiles(weights: np.ndarray, captions: list[str], scale: int = 3) -> None:
    """First-layer weight images (k, 28, 28), each in its own colour scale, with captions."""
    tiles = diverging(weights, shared_scale=False)
    st.image([np.kron(tile, np.ones((scale, scale, 1), np.uint8)) for tile in tiles], caption=captions)


def why(
    loaded: store.LoadedModel, image: np.ndarray, explained: explain.Explanation, names: list[str]
) -> None:
    """Which pixels and which hidden units made the model's score for the explained class."""
    from mnist_mlp import explain, model

    target = names[explained.target]
    rise = explained.logits[explained.target] - explained.baseline_logit
    pixels, units = st.columns([1, 2])
    caption = f"Pixels for and against {target}"
    pixels.image(saliency(image, explained.attribution), caption=caption, width=196)
    weights = model.first_layer_weights(loaded.model)
    with units:
        if explained.unit_activations.size == 0:
            unit_tiles(weights[[explained.target]], [f"{target}'s template"])
            st.caption(
                f"This model has no hidden layer: its score for {target} is the ink times this template "
                "(red: ink there raises the score; blue: ink there lowers it)."
            )
        else:
            top = explain.top_units(explained, UNITS_SHOWN)
            captions = [
                f"unit {unit}: fired {activation:.2f}, {contribution:+.2f}"
                for unit, activation, contribution in zip(
                    top.indices, top.activations, top.contributions, strict=True
                )
            ]
            unit_tiles(weights[top.indices], captions)
            st.caption(
                f"The hidden units that added most to the score for {target}. Each tile is the unit's "
                "first-layer weights (red: ink there excites it; blue: ink there calms it), then how "
                "strongly it fired and how much it added to the score."
            )
    st.caption(
        f"How to read it: red pixels raised the model's score for {target} (its logit, before the "
        "softmax), blue ones lowered it; together they add up to the score's rise from a blank image, "
        f"{rise:+.2f}. Only pixels with ink get a share: a blank image is where the comparison starts."
    )


def neighbours(
    loaded: store.LoadedModel, image: np.ndarray, explained: explain.Explanation, names: list[str]
) -> None:
    """The training images nearest to `image`: by its pixels, and as the model's last hidden layer sees it."""
    from mnist_mlp import explain

    name = dataset_name(loaded.card)
    training_images = dataset(name)
    pixel_index = _pixel_index(name, training_images.source)
    found = explain.nearest(pixel_index, explain.pixel_vectors(image[None])[0], NEIGHBOURS_SHOWN)
    st.markdown("**By pixels**: the training images whose 28x28 pixels are closest")
    digit_grid(training_images.x_train[found.indices], _neighbour_captions(found, names))
    if explained.unit_activations.size == 0:
        st.caption("This model has no hidden layer, so it compares images by their pixels alone.")
        return
    space = _reading_space(loaded, explained)
    if space is None:
        return
    found = explain.nearest(space[0], explained.features, NEIGHBOURS_SHOWN)
    st.markdown("**As the model sees them**: closest in its last hidden layer, which its answer is read from")
    digit_grid(training_images.x_train[found.indices], _neighbour_captions(found, names))
    st.caption("Captions: the training image's label, then its distance (smaller is closer).")


def _neighbour_captions(found: explain.Neighbours, names: list[str]) -> list[str]:
    pairs = zip(found.labels, found.distances, strict=True)
    return [f"{names[int(label)]}, {distance:.2f}" for label, distance in pairs]
