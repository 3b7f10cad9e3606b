"""The Compare page's pieces: two runs' settings and live progress, two saved models, and the comparison."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import streamlit as st

from mnist_mlp import compare, data, evaluate, model
from ui import charts, links, picker, training, widgets

MODES = {"train": "Train two runs", "saved": "Two saved models"}
DEFAULT_PRESETS = {"a": "softmax", "b": model.DEFAULT_PRESET}
DEFAULT_EPOCHS, MAX_EPOCHS = 5, 100


class Run(NamedTuple):
    label: str
    network: object  # the keras.Model
    test: evaluate.Evaluation  # on its dataset's test set
    names: list[str]
    dataset: str
    history: list[dict[str, float]]


def run_settings(side: str) -> tuple[str, model.MLPConfig]:
    """One run's dataset, model and training; every choice is kept in the page's URL."""
    key, presets = f"compare_{side}_", list(model.PRESETS)
    links.url_bound(f"{side}_dataset", key + "dataset", data.DATASETS, data.DATASETS[0])
    name = st.selectbox("Dataset", data.DATASETS, format_func=widgets.DATASET_LABELS.get, key=key + "dataset")
    links.url_bound(f"{side}_preset", key + "preset", presets, DEFAULT_PRESETS[side])
    preset = st.selectbox("Model", presets, presets.index(DEFAULT_PRESETS[side]), key=key + "preset")
    links.url_bound(f"{side}_epochs", key + "epochs", links.int_in(1, MAX_EPOCHS), DEFAULT_EPOCHS)
    epochs = st.number_input("Epochs", 1, MAX_EPOCHS, DEFAULT_EPOCHS, key=key + "epochs")
    links.url_bound(f"{side}_augment", key + "augment", (False, True), False)
    augment = st.toggle("Augment: shifts, rotations, elastic bends", False, key=key + "augment")
    config = model.preset(preset).replace(epochs=int(epochs), augment=augment)
    st.caption(f"{config.architecture}: {config.parameter_count:,} parameters.")
    return name, config


def label(side: str, config: model.MLPConfig, dataset: str) -> str:
    extra = ", augmented" if config.augment else ""
    return f"{side.upper()}: {config.architecture} on {widgets.DATASET_LABELS.get(dataset, dataset)}{extra}"


@st.fragment(run_every=training.POLL_SECONDS)
def live(runs: list[training.Training]) -> None:
    """Both runs' progress and overlaid curves, redrawn every poll while either trains."""
    states = [run.job.state() for run in runs]
    if not any(state.active for state in states):
        st.rerun()  # the whole page, to show the results
    for column, state in zip(st.columns(2), states, strict=True):
        progress = state.progress
        if state.active and progress is None:
            column.info(
                "Queued: other trainings hold every slot." if state.status == "queued" else "Building…"
            )
        elif progress is not None:
            column.progress(min(progress.fraction, 1.0), f"Epoch {progress.epoch}/{progress.epochs}")
    curves = {
        label(side, run.job.config, run.dataset): charts.progress_rows(state.points)
        for side, run, state in zip("ab", runs, states, strict=True)
    }
    charts.history_overlay(curves)
    st.button("Stop both", on_click=training.stop_training, args=training.COMPARE_KEYS, key="compare_stop")


def trained_runs(runs: list[training.Training]) -> list[Run] | None:
    """The two finished runs, tested, each with a way to save it; None (said why) if one has no model."""
    shown = []
    for side, run, column in zip("ab", runs, st.columns(2), strict=True):
        result = run.job.result
        if result is None:
            error = run.job.state().error
            if error:
                column.error(f"Run {side.upper()} failed: {error}")
            else:
                column.warning(f"Run {side.upper()} was stopped before it began.")
            continue
        test = run.test or training.evaluate_training(run)
        names = list(data.class_names(run.dataset))
        shown.append(
            Run(
                label(side, result.config, run.dataset),
                result.model,
                test,
                names,
                run.dataset,
                result.history,
            )
        )
        with column:
            training.save_form(run, f"compare_{side}", label=f"Save {side.upper()}", name_label="Save as")
            if run.saved_as:
                st.success(run.saved_message)
    return shown if len(shown) == 2 else None


def saved_runs() -> list[Run] | None:
    """Two models from the store, picked on the page (and in its URL)."""
    names = [entry.name for entry in picker.models() if entry.card is not None]
    if len(names) < 2:
        st.info("Comparing saved models needs two of them: train and save another, or train two runs here.")
        return None
    entries, shown = {entry.name: entry for entry in picker.models()}, []
    for side, column, default in zip("ab", st.columns(2), names[:2], strict=True):
        with column:
            links.url_bound(f"{side}_model", f"compare_{side}_model", names, default, always=True)
            entry = entries[
                st.selectbox(
                    f"Model {side.upper()}", names, names.index(default), key=f"compare_{side}_model"
                )
            ]
        loaded, test = picker.load_entry(entry), picker.evaluation(entry)
        if loaded is None or test is None:
            return None
        shown.append(
            Run(
                f"{side.upper()}: {entry.name}",
                loaded.model,
                test,
                picker.class_names(entry.card),
                picker.dataset_name(entry.card),
                entry.card.history,
            )
        )
    return shown


def per_class(first: Run, second: Run) -> None:
    """Two models on the same test set: accuracy per class side by side, where they disagree, and how the
    second's confusion matrix differs from the first's, in images or in shares of each true class."""
    classes = compare.compare_classes(first.test, second.test, first.names)
    table = pd.DataFrame(classes.rows(first.label, second.label))
    chart = table.melt("class", [first.label, second.label], "run", "accuracy")
    st.bar_chart(chart, x="class", y="accuracy", color="run", stack=False, sort=False, height=320)
    difference = st.column_config.NumberColumn(format="%+.3f", help="B minus A")
    st.dataframe(table, hide_index=True, column_config={"difference": difference})
    st.caption(
        f"Of {len(first.test.labels):,} test images both read {classes.both_right:,} right and "
        f"{classes.both_wrong:,} wrong; only A is right on {classes.only_first_right:,}, only B on "
        f"{classes.only_second_right:,}."
    )
    st.subheader("Confusion matrix, B minus A")
    as_share = widgets.share_view("compare_view", "differences")
    charts.change_heatmap(classes, as_share)
    unit = (
        "in percentage points of its true class, so classes with more or fewer images compare fairly"
        if as_share
        else "in images"
    )
    st.caption(
        f"How much more often B gives each answer than A, {unit}. Red: B makes that mistake more often, "
        "blue: less often, darker for a larger change; an empty cell: as often in both. The grey "
        "diagonal: how much more often B reads the class right."
    )


def side_by_side(first: Run, second: Run) -> None:
    """Curves overlaid, then accuracy, per-class accuracy and a linear model's class templates."""
    st.header("Learning curves")
    charts.history_overlay({first.label: first.history, second.label: second.history})
    columns = st.columns(2)
    for column, run, other in ((columns[0], first, None), (columns[1], second, first)):
        comparable = other is not None and other.dataset == run.dataset  # not across test sets
        delta = f"{run.test.accuracy - other.test.accuracy:+.2%} vs A" if comparable else None
        column.metric(f"Test accuracy, {run.label}", f"{run.test.accuracy:.2%}", delta)
    st.header("Accuracy per class")
    if first.dataset == second.dataset and compare.same_set(first.test, second.test):
        per_class(first, second)
    else:
        st.caption("Two different test sets (digits and clothes, say): each model's classes on their own.")
        for column, run in zip(st.columns(2), (first, second), strict=True):
            charts.accuracy_bars(run.names, run.test.per_class_accuracy, 320, column)
    for column, run in zip(st.columns(2), (first, second), strict=True):
        if compare.is_linear(run.network):
            with column:
                st.header(f"Class templates of {run.label[0]}")
                widgets.weight_grid(compare.class_templates(run.network), columns=5)
                st.caption("Left to right, top to bottom: " + ", ".join(run.names) + ".")


def mode() -> str:
    """Train two runs here, or pick two saved models ("train" or "saved"); kept in the URL."""
    links.url_bound("mode", "compare_mode", list(MODES), "train")
    return st.radio("Compare", list(MODES), format_func=MODES.get, horizontal=True, key="compare_mode")


def two_runs() -> list[Run] | None:
    """Both runs' settings and the Train button; their progress while they train, then the runs."""
    sessions = [training.current(key) for key in training.COMPARE_KEYS]
    busy = any(run is not None and not run.job.done for run in sessions)
    setups = []
    for side, column in zip("ab", st.columns(2), strict=True):
        with column:
            st.markdown(f"**Run {side.upper()}**")
            setups.append(run_settings(side))
    links.class_link()
    if st.button(
        "Train both", type="primary", disabled=busy, key="compare_start", icon=":material/play_arrow:"
    ):
        for (dataset_name, config), key in zip(setups, training.COMPARE_KEYS, strict=True):
            training.start_training(config, dataset_name, key=key)
        st.rerun()
    if busy:
        live(sessions)
    elif all(run is not None for run in sessions):
        return trained_runs(sessions)
    return None
