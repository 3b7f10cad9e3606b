"""The Misclassifications page's pieces: summary, confusion matrix, filtered mistakes, a closer look."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_mlp import evaluate
from ui import charts, explanations, links, picker, widgets

if TYPE_CHECKING:
    from mnist_mlp import data, store

ALL = -1  # filter value: every class
CLASSES = [ALL, *range(10)]  # the filters' options
TRUE_KEY, PREDICTED_KEY, CELL_KEY = "mistakes_true", "mistakes_predicted", "mistakes_cell"
VIEW_KEY = "mistakes_view"  # the confusion matrix in counts or in shares of each true class
# How many clicks on the charts so far. Each click gives both charts new keys, so they are drawn
# again with nothing selected: a later click on the same cell or bar is then a change Streamlit
# reports, even after the filters were changed with the select boxes in between.
CLICKS_KEY = "mistakes_chart_clicks"


NO_CELL = (ALL, ALL)  # the cell picker's first option: no one cell, every mistake


def open_cell() -> None:
    """A callback: picking a confusion-matrix cell sets both class filters to it (NO_CELL: to any)."""
    st.session_state[TRUE_KEY], st.session_state[PREDICTED_KEY] = st.session_state[CELL_KEY]


def url_filters() -> tuple[int, int]:
    """The true and predicted class filters (ALL for any), tied to the URL's ?true=&predicted=.

    Call before the charts: they outline what the filters pick, and their clicks set the filters.
    """
    links.url_bound("true", TRUE_KEY, CLASSES, ALL)
    links.url_bound("predicted", PREDICTED_KEY, CLASSES, ALL)
    return st.session_state.get(TRUE_KEY, ALL), st.session_state.get(PREDICTED_KEY, ALL)


def show(true_class: int, predicted_class: int) -> None:
    """Set the class filters (ALL for any), as a callback does before the filters are drawn."""
    st.session_state[TRUE_KEY], st.session_state[PREDICTED_KEY] = true_class, predicted_class
    _count_click()


def _count_click() -> None:
    """One more click on the charts: they get new keys (see CLICKS_KEY)."""
    st.session_state[CLICKS_KEY] = st.session_state.get(CLICKS_KEY, 0) + 1


def open_clicked_cell(key: str) -> None:
    """A callback: a click on the confusion matrix's cell (t, p) shows the mistakes of t read as p.

    A diagonal cell holds no mistakes, so a click there shows all of that true class's mistakes; an
    empty cell shows its (empty) filter, which the page says holds none.
    """
    cell = charts.clicked_cell(st.session_state.get(key))
    if cell is None:  # a click beside the cells or a double click: nothing chosen, filters kept
        _count_click()
        return
    true_class, predicted_class = cell
    show(true_class, ALL if predicted_class == true_class else predicted_class)


def open_clicked_class(key: str) -> None:
    """A callback: a click on a class's bar shows all of that true class's mistakes."""
    picked = charts.clicked_class(st.session_state.get(key))
    if picked is None:
        _count_click()
        return
    show(picked, ALL)


def on_my_drawings() -> bool:
    """Whether to evaluate on my drawings rather than the test set."""
    data_choice = st.radio(
        "Evaluate on", ["the test set", "my drawings"], horizontal=True, key="mistakes_data",
        help="My drawings: those saved on the Draw page (see the My drawings page).",
    )  # fmt: skip
    return data_choice == "my drawings"


def summary(entry: store.StoredModel, evaluation: evaluate.Evaluation, on_drawings: bool) -> None:
    """How many the model reads right and wrong, and how many it calls Unsure."""
    wrong = evaluation.errors
    st.write(
        f"**{entry.name}** reads {evaluation.accuracy:.2%} of {len(evaluation.labels):,} "
        f"{'of my drawings' if on_drawings else 'test images'} "
        f"right and gets **{wrong:,}** wrong."
    )
    flags = None if on_drawings else picker.unsure_flags(entry)
    if flags is not None and len(flags) == len(evaluation.labels):
        sure = ~flags
        rest = evaluate.accuracy_where(evaluation, sure)
        st.write(
            f"It calls **{int(flags.sum()):,}** of them **Unsure** ({flags.mean():.1%}), as the Draw page "
            f"would; on the other {int(sure.sum()):,} it reads **{rest:.2%}** right."
        )


def confusion_and_accuracy(
    evaluation: evaluate.Evaluation, names: list[str], picked: tuple[int, int] = (ALL, ALL)
) -> None:
    """The confusion matrix, in counts or in shares of each true class, whose cells open their mistakes,
    with a picker of its cells (the keyboard's way, kept in step with the clicks), beside each class's
    errors, whose bars open the class's.

    Args:
        picked: the filters' true and predicted class (ALL for any), from `url_filters`.
    """
    confusion = evaluation.confusion
    clicks = st.session_state.get(CLICKS_KEY, 0)
    true_class, predicted_class = (None if c == ALL else c for c in picked)
    matrix_key, bars_key = f"mistakes_matrix_{clicks}", f"mistakes_class_bars_{clicks}"
    matrix_column, accuracy_column = st.columns([3, 2])
    with matrix_column:
        st.header("Confusion matrix")
        as_share = widgets.share_view(VIEW_KEY, "matrix")
        cells = evaluate.error_cells(evaluate.confusion_shares(confusion) if as_share else confusion)
        st.session_state[CELL_KEY] = picked if picked in cells else NO_CELL  # in step with clicks and filters
        on_click = partial(open_clicked_cell, matrix_key)
        charts.confusion_heatmap(
            confusion, names, (true_class, predicted_class), matrix_key, on_click, as_share=as_share
        )
        how = (
            "Each cell is its share of the true class (a row adds up to 100%), so classes with more or "
            "fewer images compare fairly: the grey diagonal is each class's accuracy, errors are shaded "
            "orange, darker for a larger share"
            if as_share
            else "Errors are shaded orange, darker for more; the right answers are the grey diagonal"
        )
        st.caption(
            f"Rows: the true class; columns: the model's answer. {how}; an empty cell holds none. "
            "**Click a cell** to see its mistakes below (a diagonal cell: all of that class's)."
        )
        cell_picker(confusion, cells, names, as_share)
    with accuracy_column:
        st.header("Errors per class")
        charts.class_error_bars(
            evaluation.errors_per_class,
            np.nan_to_num(evaluation.per_class_accuracy),
            names,
            true_class,
            bars_key,
            partial(open_clicked_class, bars_key),
        )
        st.caption("How many of each class it reads wrong, and its accuracy. **Click a bar**: its mistakes.")


def cell_picker(
    confusion: np.ndarray, cells: list[tuple[int, int]], names: list[str], as_share: bool
) -> None:
    """The confusion matrix's error `cells` in a select box, in their order, each with its count or share
    of the true class: the keyboard's way to a cell, which sets both class filters as a click does."""
    shares, totals = evaluate.confusion_shares(confusion), confusion.sum(axis=1)

    def said(cell: tuple[int, int]) -> str:
        if cell == NO_CELL:
            return f"pick a cell, {'largest share' if as_share else 'most errors'} first"
        amount = str(confusion[cell])
        if as_share:
            amount = f"{charts.percent(shares[cell])} ({amount} of {totals[cell[0]]:,})"
        return f"{names[cell[0]]} read as {names[cell[1]]}: {amount}"

    st.selectbox(
        "Show the examples of a cell", [NO_CELL, *cells], key=CELL_KEY, on_change=open_cell, format_func=said
    )


def filtered(evaluation: evaluate.Evaluation, names: list[str]) -> tuple[list[evaluate.Mistake], int]:
    """The mistakes of the chosen true and predicted classes, in the chosen order, and how many to show.

    Call `url_filters` first (before the charts), which ties the class filters to the URL.
    """
    label = {ALL: "any", **dict(enumerate(names))}.get
    true_column, predicted_column, order_column, count_column = st.columns(4)
    true_class = true_column.selectbox("True class", CLASSES, format_func=label, key=TRUE_KEY)
    predicted_class = predicted_column.selectbox(
        "Predicted class", CLASSES, format_func=label, key=PREDICTED_KEY
    )
    order = order_column.radio(
        "Sort by confidence", ["most confident first", "least confident first"], key="mistakes_order"
    )
    shown = count_column.slider("Show at most", 12, 120, 36, 12, key="mistakes_count")
    found = evaluation.mistakes(
        None if true_class == ALL else true_class,
        None if predicted_class == ALL else predicted_class,
        most_confident_first=order == "most confident first",
    )
    return found, shown


def gallery(mistakes: list[evaluate.Mistake], test: data.Dataset, names: list[str]) -> evaluate.Mistake:
    """The first mistakes as a captioned grid, and the one picked to look at closer."""
    st.caption(f"{len(mistakes):,} mistakes; captions read: predicted (true), confidence.")
    widgets.digit_grid(
        test.x_test[[m.index for m in mistakes]],
        [f"{names[m.predicted_class]} ({names[m.true_class]}), {m.confidence:.0%}" for m in mistakes],
        label=f"{len(mistakes):,} misread images",
        alts=[
            f"Image #{m.index}: {widgets.article(names[m.true_class])}, read as {names[m.predicted_class]} "
            f"at {m.confidence:.0%}"
            for m in mistakes
        ],
    )
    return st.selectbox(
        "Look closer at one",
        mistakes,
        key="mistakes_pick",
        format_func=lambda m: (
            f"test image #{m.index}: {names[m.true_class]} read as "
            f"{names[m.predicted_class]} ({m.confidence:.0%})"
        ),
    )


def closer_look(
    entry: store.StoredModel,
    evaluation: evaluate.Evaluation,
    test: data.Dataset,
    names: list[str],
    picked: evaluate.Mistake,
) -> None:
    """One mistake large with its probabilities; then why, for the model's answer or the true class."""
    image_column, chart_column = st.columns([1, 2])
    with image_column:
        widgets.digit(test.x_test[picked.index], f"#{picked.index}, truly {names[picked.true_class]}")
    with chart_column:
        charts.probability_chart(evaluation.probabilities[picked.index], names)
    loaded = picker.load_entry(entry)  # Why: the Draw page's view, for the model's answer or the true class
    if loaded is None:
        return
    explain_for = st.radio(
        "Explain the score for",
        ["predicted", "true"],
        format_func=lambda which: (
            f"{names[picked.predicted_class]}, the answer" if which == "predicted" else
            f"{names[picked.true_class]}, the true class"
        ),
        horizontal=True,
        key="mistakes_explain",
    )  # fmt: skip
    target = picked.predicted_class if explain_for == "predicted" else picked.true_class
    explained = explanations.explanation(loaded, test.x_test[picked.index], target)
    if explained is not None:
        st.header(f"Why {names[explained.target]}?")
        explanations.why(loaded, test.x_test[picked.index], explained, names)
        if st.toggle("Show its nearest training images", key="mistakes_neighbours"):
            found = explanations.nearest(loaded, test.x_test[picked.index], explained)
            explanations.neighbours(loaded, found, names)
