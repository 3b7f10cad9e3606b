"""Misclassifications: the test images the model gets wrong, filtered by class, and where errors cluster."""

import numpy as np
import pandas as pd
import streamlit as st

from ui import charts, explanations, links, picker, through_app, widgets

ALL = -1  # filter value: every class
TRUE_KEY, PREDICTED_KEY, CELL_KEY = "mistakes_true", "mistakes_predicted", "mistakes_cell"


def open_cell() -> None:
    """A callback: picking a confusion-matrix cell sets both class filters to it."""
    cell = st.session_state[CELL_KEY]
    if cell is not None:
        st.session_state[TRUE_KEY], st.session_state[PREDICTED_KEY] = cell


def confusion_heatmap(confusion: np.ndarray, names: list[str]) -> None:
    import altair as alt

    cells = pd.DataFrame(
        [
            {
                "true": names[t],
                "predicted": names[p],
                "count": int(confusion[t, p]),
                "right": t == p,
                "errors": None if t == p else int(confusion[t, p]),
            }
            for t in range(10)
            for p in range(10)
        ]
    )
    base = alt.Chart(cells).encode(
        x=alt.X("predicted:N", sort=names, title="predicted"), y=alt.Y("true:N", sort=names, title="true")
    )
    colour = alt.condition(
        "datum.right", alt.value("#2a2a2a"), alt.Color("errors:Q", scale=alt.Scale(scheme="reds"))
    )
    heat = base.mark_rect().encode(color=colour, tooltip=["true", "predicted", "count"])
    text = base.mark_text(fontSize=11).encode(text="count:Q", color=alt.value("#888"))
    st.altair_chart((heat + text).properties(height=360))


through_app()
st.title("Misclassifications")
entry = picker.current_entry()
data_choice = st.radio(
    "Evaluate on", ["the test set", "my drawings"], horizontal=True, key="mistakes_data",
    help="My drawings: those saved on the Draw page (see the My drawings page).",
)  # fmt: skip
on_drawings = data_choice == "my drawings"
evaluation = picker.evaluation(entry, on_drawings) if entry is not None else None
if entry is None:
    picker.no_model()
if evaluation is None:
    st.stop()
names = picker.class_names(entry.card)
test = picker.test_data(entry.card, on_drawings)
confusion = evaluation.confusion
wrong = int(len(evaluation.labels) - np.trace(confusion))
st.write(
    f"**{entry.name}** reads {evaluation.accuracy:.2%} of {len(evaluation.labels):,} "
    f"{'of my drawings' if on_drawings else 'test images'} "
    f"right and gets **{wrong:,}** wrong."
)
flags = None if on_drawings else picker.unsure_flags(entry)
if flags is not None and len(flags) == len(evaluation.labels):
    sure = ~flags
    rest = float((evaluation.predictions[sure] == evaluation.labels[sure]).mean()) if sure.any() else 0.0
    st.write(
        f"It calls **{int(flags.sum()):,}** of them **Unsure** ({flags.mean():.1%}), as the Draw page would; "
        f"on the other {int(sure.sum()):,} it reads **{rest:.2%}** right."
    )

matrix_column, accuracy_column = st.columns([3, 2])
with matrix_column:
    st.subheader("Confusion matrix")
    confusion_heatmap(confusion, names)
    off_diagonal = [(t, p) for t in range(10) for p in range(10) if t != p and confusion[t, p]]
    off_diagonal.sort(key=lambda cell: -confusion[cell])
    st.selectbox(
        "Show the examples of a cell",
        [None, *off_diagonal],
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
    per_class = pd.DataFrame({"class": names, "accuracy": np.nan_to_num(evaluation.per_class_accuracy)})
    st.bar_chart(per_class, x="class", y="accuracy", sort=False, horizontal=True, height=360)

st.subheader("The mistakes")
classes = [ALL, *range(10)]
label = {ALL: "any", **dict(enumerate(names))}.get
true_column, predicted_column, order_column, count_column = st.columns(4)
links.url_bound("true", TRUE_KEY, classes, ALL)
links.url_bound("predicted", PREDICTED_KEY, classes, ALL)
true_class = true_column.selectbox("True class", classes, format_func=label, key=TRUE_KEY)
predicted_class = predicted_column.selectbox("Predicted class", classes, format_func=label, key=PREDICTED_KEY)
order = order_column.radio(
    "Sort by confidence", ["most confident first", "least confident first"], key="mistakes_order"
)
shown = count_column.slider("Show at most", 12, 120, 36, 12, key="mistakes_count")
mistakes = evaluation.mistakes(
    None if true_class == ALL else true_class,
    None if predicted_class == ALL else predicted_class,
    most_confident_first=order == "most confident first",
)
if not mistakes:
    st.info("No mistakes with these filters.")
    st.stop()
st.caption(f"{len(mistakes):,} mistakes; captions read: predicted (true), confidence.")
page = mistakes[:shown]
widgets.digit_grid(
    test.x_test[[m.index for m in page]],
    [f"{names[m.predicted_class]} ({names[m.true_class]}), {m.confidence:.0%}" for m in page],
)
picked = st.selectbox(
    "Look closer at one",
    page,
    key="mistakes_pick",
    format_func=lambda m: (
        f"test image #{m.index}: {names[m.true_class]} read as "
        f"{names[m.predicted_class]} ({m.confidence:.0%})"
    ),
)
image_column, chart_column = st.columns([1, 2])
with image_column:
    widgets.digit(test.x_test[picked.index], f"#{picked.index}, truly {names[picked.true_class]}")
with chart_column:
    charts.probability_chart(evaluation.probabilities[picked.index], names)

loaded = picker.load_entry(entry)  # Why: the Draw page's view, for the model's answer or the true class
if loaded is not None:
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
