"""The class board's pieces: the collection to show, the live board (a fragment, so only it reruns,
every few seconds, in the board's session alone), and the fine-tune of a copy with its before and after.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from mnist_mlp import board, my_drawings, store
from ui import charts, classroom, collection, links, picker, resources, widgets

REFRESH_SECONDS = 3  # how often the board looks for new drawings; a look costs a folder listing
COLLECTION_KEY = "board_collection"  # session_state: the collection on the board (a name; "" the main)
TUNED_KEY = "board_tuned"  # session_state: this session's fine-tuned copy (a board.FineTuned)
SAVED_KEY = "board_saved"  # session_state: what the last save said, shown once after the rerun
DRAW_URL_PATH = "draw"  # the Draw page's url_path in app.py: the class link opens it
TILE_PIXELS = 112  # a drawing on the grid, 4 screen pixels to one of its 28: big enough for the back row


def collection_choice() -> Path | None:
    """The collection to show (existing ones listed, a new name may be typed; `?collection=` in the
    address), with the link to give the class; its folder, or None with why when the name is refused."""
    mine = st.session_state.get(collection.DRAWINGS_COLLECTION_KEY, "")
    links.url_bound(collection.COLLECTION_PARAM, COLLECTION_KEY, collection.valid_name, mine, always=True)
    state = st.session_state
    if state.get(COLLECTION_KEY) is None:  # before the widget exists this run, so it needs no default
        state[COLLECTION_KEY] = mine
    names = board.collections()
    st.selectbox(
        "Collection",
        names if state[COLLECTION_KEY] in names else [*names, state[COLLECTION_KEY]],
        key=COLLECTION_KEY,
        format_func=lambda name: name or "the main collection",
        accept_new_options=True,
        help="The class's drawings go to one collection: type a new name for a new lesson.",
    )
    name = (state.get(COLLECTION_KEY) or "").strip()
    try:
        folder = my_drawings.collection_dir(name)
    except ValueError as err:
        st.error(str(err))
        return None
    st.caption(
        f"For the class: open this link, draw, check the label and press “Save this drawing”; each drawing "
        f"goes to {collection.describe(name)}."
    )
    st.code(class_link(name), language=None)  # its copy button gives the link for the class chat
    return folder


def class_link(name: str) -> str:
    """The Draw page's address with `?collection=name` (none for the main collection): the link that puts
    a student straight into the collection.

    Full (scheme, host, port) from the address this board was opened at, when Streamlit knows it; else
    relative to the server's root.
    """
    from urllib.parse import quote, urlencode

    query = f"?{urlencode({collection.COLLECTION_PARAM: name}, quote_via=quote)}" if name else ""
    here = st.context.url  # this page's address without its query: .../board (the board is no default page)
    root = here.rsplit("/", 1)[0] if here else ""
    return f"{root}/{DRAW_URL_PATH}{query}"


@st.cache_data(show_spinner=False, max_entries=8)
def summary(
    path: str, modified_ns: int, dataset_name: str, folder: str, signature: str
) -> board.BoardSummary:
    """The model at `path` on the collection in `folder`, read once per change (`signature`) and shared
    by every session showing the same board."""
    model = resources.load_model(path, modified_ns).model
    return board.summary(model, board.read_collection(dataset_name, folder))


@st.fragment(run_every=REFRESH_SECONDS)
def live_board(entry: store.StoredModel, folder: Path) -> None:
    """The count read right, the newest drawings with what was read, the confusion matrix and the
    hardest: redrawn every REFRESH_SECONDS by this fragment alone, so nobody drawing is disturbed."""
    name, names = picker.dataset_name(entry.card), picker.class_names(entry.card)
    try:
        modified = resources.mtime_ns(entry.path / store.MODEL_FILE)
        read = summary(str(entry.path), modified, name, str(folder), my_drawings.signature(name, folder))
    except (OSError, ValueError) as err:  # the model or the collection cannot be read (any more)
        st.error(_read_error(err, entry, folder / name))
        return
    counts(read)
    if not read.count:
        st.info("No drawings here yet: they appear here as the class saves them.")
        return
    st.header("Newest drawings")
    _grid(read, read.latest, names, lambda i: _verdict(read, i, names), "newest drawings")
    matrix, hardest = st.columns([3, 2], gap="large")
    with matrix:
        st.header("Read as")
        charts.confusion_heatmap(read.confusion, names)
    with hardest:
        st.header("Hardest for the model")
        st.caption(
            "Lowest probability for the class each really is: the class, what was read, that probability."
        )
        _grid(read, read.hardest, names, lambda i: _hardness(read, i, names), "drawings hardest to read")
    if read.collection.skipped:
        st.caption(f"{len(read.collection.skipped)} unreadable files left out.")


def _read_error(err: OSError | ValueError, entry: store.StoredModel, drawings: Path) -> str:
    """Which failed, the model or the collection (each named), why, and what to do.

    The model's failures are ValueErrors (a missing or damaged file, a bad card) or OSErrors on its
    folder's files; the collection's are OSErrors on its folder, or a DrawingsError.
    """
    if isinstance(err, OSError):
        why = err.strerror or str(err)
        failed = Path(err.filename) if err.filename else None
        of_model = failed is not None and failed.is_relative_to(entry.path)
    else:
        why = str(err)
        of_model = not isinstance(err, my_drawings.DrawingsError)
    if of_model:
        return f"Cannot load the model {entry.name!r}: {why}. Choose another model in the sidebar."
    return f"Cannot read the collection {drawings}: {why}. Choose another collection."


def counts(read: board.BoardSummary) -> None:
    """How many drawings, how many read right (count and share), and when the last was saved."""
    total, right, last = st.columns(3)
    total.metric("Drawings", f"{read.count:,}")
    share = f" ({read.accuracy:.0%})" if read.accuracy is not None else ""
    right.metric("Read right", f"{read.right_count:,}{share}", help="The class each drawer said it is")
    if read.count:
        newest = max(drawing.created for drawing in read.collection.drawings)
        last.metric("Last saved", board.time_ago(newest, time.time()))  # an age: no time zone to get wrong


def _grid(read: board.BoardSummary, indices: tuple[int, ...], names: list[str], caption, kind: str) -> None:
    """The drawings at `indices` as one announced group: each captioned, and its alt text says what it
    is and what the model read ("a drawing of a 7, read as 1 at 64%")."""
    images = read.collection.images[list(indices)]
    alts = [
        f"a drawing of {widgets.article(names[read.collection.labels[i]])}, read as "
        f"{names[read.reads[i]]}; {read.true_probability[i]:.0%} for {names[read.collection.labels[i]]}"
        for i in indices
    ]
    label = f"{len(indices)} {kind}"
    widgets.digit_grid(images, [caption(i) for i in indices], label, alts, size=TILE_PIXELS)


def _verdict(read: board.BoardSummary, index: int, names: list[str]) -> str:
    said, label = names[read.reads[index]], names[read.collection.labels[index]]
    return f"✓ {said}" if read.right[index] else f"✗ {said} (is {label})"


def _hardness(read: board.BoardSummary, index: int, names: list[str]) -> str:
    label = names[read.collection.labels[index]]
    return f"{label} read {names[read.reads[index]]}: {read.true_probability[index]:.0%}"


def fine_tune_section(entry: store.StoredModel, loaded: store.LoadedModel, folder: Path) -> None:
    """One click fine-tunes a copy of the model on the collection; then before and after, and Save."""
    st.header("Fine-tune a copy on these drawings")
    st.caption(
        f"{board.FINE_TUNE_EPOCHS} epochs on the drawings, each {board.FINE_TUNE_TIMES} times, beside up "
        f"to {board.REHEARSAL_IMAGES:,} of its training images. The model itself is not changed."
    )
    if SAVED_KEY in st.session_state:
        st.success(st.session_state.pop(SAVED_KEY))
    if st.button("Fine-tune a copy", key="board_fine_tune", icon=":material/tune:"):
        _fine_tune(loaded, folder)
    tuned = st.session_state.get(TUNED_KEY)
    if tuned is not None and tuned.source == entry.name and tuned.collection.folder == folder:
        before_and_after(tuned)
        save_form(tuned)


def _fine_tune(loaded: store.LoadedModel, folder: Path) -> None:
    """Fine-tune a copy now, in this session's run, with a progress bar; it takes one training slot."""
    name = picker.dataset_name(loaded.card)
    slots = resources.training_slots()
    if not slots.acquire(blocking=False):
        st.warning("Two trainings are running on this server already: try again when one has finished.")
        return
    bar = st.progress(0.0, text="Fine-tuning a copy…")

    def report(progress) -> None:
        bar.progress(progress.fraction, text=f"Fine-tuning a copy: epoch {progress.epoch}")

    try:
        read = board.read_collection(name, folder)
        st.session_state[TUNED_KEY] = board.fine_tune(
            loaded, read, resources.dataset(name), on_progress=report
        )
    except (ValueError, OSError) as err:
        st.error(f"Not fine-tuned: {err}")
    finally:
        slots.release()
        bar.empty()


def before_and_after(tuned: board.FineTuned) -> None:
    """The original and the copy on the drawings and on the test set, side by side."""
    drawings, test = st.columns(2)
    count = len(tuned.collection.labels)
    for column, label, before, after in (
        (drawings, f"On the {count} drawings", tuned.before_drawings, tuned.after_drawings),
        (test, f"On {len(tuned.after_test.labels):,} test images", tuned.before_test, tuned.after_test),
    ):
        change = round((after.accuracy - before.accuracy) * 100, 1)  # percentage points
        column.metric(
            label,
            f"{after.accuracy:.1%}",
            f"{change:+.1f} points" if change else "no change",
            delta_color="normal" if change else "off",
            delta_arrow="auto" if change else "off",
            help=f"Before: {before.accuracy:.1%}",
        )
    st.caption(
        f"Before: {tuned.source} reads {tuned.before_drawings.accuracy:.1%} of the drawings and "
        f"{tuned.before_test.accuracy:.1%} of the test images. The test set shows whether the copy forgot."
    )


def save_form(tuned: board.FineTuned) -> None:
    """A name and Save for the copy, through the app's one save (the session's rights apply)."""
    name = st.text_input("Name", tuned.suggested_name, key=f"board_name_{tuned.suggested_name}")
    if st.button("Save the copy", key="board_save", icon=":material/save:"):
        try:
            with st.spinner("Setting where the model should say Unsure…"):
                _, replaced = board.save(tuned, name.strip(), classroom.actor())
        except (ValueError, OSError) as err:
            st.error(f"Not saved: {err}")
            return
        resources.store_changed()
        earlier = ", in place of your earlier model of that name" if replaced else ""
        st.session_state[SAVED_KEY] = f"Saved as {name.strip()!r}{earlier}: pick it in the sidebar to use it."
        st.rerun()
