"""The Misclassifications page's pieces: summary, confusion matrix, filtered mistakes, a closer look."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_mlp import evaluate
from ui import charts, explanations, links, picker, widgets

if TYPE_CHECKING:
    from mnist_mlp import data, store

ALL = -1  # filter value: every class
TRUE_KEY, PREDICTED_KEY, CELL_KEY = "mistakes_true", "mistakes_predicted", "mistakes_cell"


def open_cell() -> None:
    """A callback: picking a confusion-matrix cell sets both class filters to it."""
    cell = st.session_state[CELL_KEY]
    if cell is not None:
        st.session_state[TRUE_KEY], st.session_state[PREDICTED_KEY] = cell


def on_my_drawings() -> bool:
    """Whether to evaluate on my drawings rather than the test set."""
    data_choice = st.radio(
        "Evaluate on", ["the test set", "my drawings"], horizontal=True, key="mistakes_data",
        help="My drawings: those saved on the Draw page (see the My drawings page).",
    )  # fmt: skip
    return data_choice == "my drawings"


def summary(entry: store.StoredModel, evaluation: evaluate.Evaluation, on_drawings: bool) -> None:
    """How many the model reads right and wrong, and how many it calls Unsure."""
    wrong = int(len(evaluation.labels) - np.trace(evaluation.confusion))
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


def confusion_and_accuracy(evaluation: evaluate.Evaluation, names: list[str]) -> None:
    """The confusion matrix with a picker of its cells, beside the accuracy per class."""
    confusion = evaluation.confusion
    matrix_column, accuracy_column = st.columns([3, 2])
    with matrix_column:
        st.subheader("Confusion matrix")
        charts.confusion_heatmap(confusion, names)
        st.selectbox(
            "Show the examples of a cell",
            [None, *evaluate.error_cells(confusion)],
            key=CELL_KEY,
            on_change=open_cell,
            format_func=lambda c: (
                "pick a cell, most errors first"
                if c is None
                else f"{names[c[0]]} read as {names[c[1]]}: {confusion[c]}"
            ),
        )
    with accuracy_column:
        st.subheader("Accuracy per class")
        charts.accuracy_bars(names, np.nan_to_num(evaluation.per_class_accuracy), 360)


def filtered(evaluation: evaluate.Evaluation, names: list[str]) -> tuple[list[evaluate.Mistake], int]:
    """The mistakes of the chosen true and predicted classes, in the chosen order, and how many to show."""
    classes = [ALL, *range(10)]
    label = {ALL: "any", **dict(enumerate(names))}.get
    true_column, predicted_column, order_column, count_column = st.columns(4)
    links.url_bound("true", TRUE_KEY, classes, ALL)
    links.url_bound("predicted", PREDICTED_KEY, classes, ALL)
    true_class = true_column.selectbox("True class", classes, format_func=label, key=TRUE_KEY)
    predicted_class = predicted_column.selectbox(
        "Predicted class", classes, format_func=label, key=PREDICTED_KEY
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
        st.subheader(f"Why {names[explained.target]}?")
        explanations.why(loaded, test.x_test[picked.index], explained, names)
        if st.toggle("Show its nearest training images", key="mistakes_neighbours"):
            found = explanations.nearest(loaded, test.x_test[picked.index], explained)
            explanations.neighbours(loaded, found, names)
