"""Charts: class probabilities, confusion, accuracy per class, and learning curves of one run or several."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mnist_mlp import data, train

CHART_POINTS = 300  # batch reports drawn per chart at most
BAR_COLOUR = "#4c78a8"  # Vega's first colour, as in the other charts


def probability_chart(probabilities: np.ndarray, names: list[str]) -> None:
    """The 10 class probabilities as labelled bars, in class order, the most likely in bold.

    Plain HTML rather than a chart: it is redrawn after every canvas stroke, and a Vega chart costs
    the browser about 100 ms of CPU each time (a classroom's tablets feel that) where this costs a
    few. The numbers are text, so a screen reader reads them too.
    """
    st.html(probability_bars_html(probabilities, names))


def probability_bars_html(probabilities: np.ndarray, names: list[str]) -> str:
    """The markup of `probability_chart`: one row per class, its name, a bar and the percentage."""
    values = np.asarray(probabilities, float)
    best = int(values.argmax())
    rows = []
    for index, (name, value) in enumerate(zip(names, values, strict=True)):
        row_style = "display:flex;align-items:center;gap:.5rem;margin:.15rem 0"
        weight = ";font-weight:600" if index == best else ""
        rows.append(
            f'<div role="listitem" style="{row_style}{weight}">'
            f'<span style="flex:0 0 6.5rem;text-align:right;overflow:hidden">{html.escape(name)}</span>'
            f'<span style="flex:1;height:1rem;background:rgba(128,128,128,.18);border-radius:2px">'
            f'<span style="display:block;height:100%;width:{value:.1%};background:{BAR_COLOUR};'
            f'border-radius:2px"></span></span>'
            f'<span style="flex:0 0 3.5rem;text-align:right">{value:.1%}</span></div>'
        )
    return f'<div role="list" aria-label="Probability of each class">{"".join(rows)}</div>'


def confusion_heatmap(confusion: np.ndarray, names: list[str]) -> None:
    """The (10, 10) confusion counts as a heat map of the errors, right answers dark, each cell numbered."""
    import altair as alt
    import pandas as pd

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


def accuracy_bars(names: list[str], accuracy: np.ndarray, height: int, where=st) -> None:
    """Each class's accuracy as a horizontal bar, in class order; `where` a column or st."""
    import pandas as pd

    table = pd.DataFrame({"class": names, "accuracy": accuracy})
    where.bar_chart(table, x="class", y="accuracy", sort=False, horizontal=True, height=height)


def class_counts(dataset: data.Dataset) -> None:
    """How many training and test images each class has, as paired bars in class order."""
    import pandas as pd

    counts = pd.DataFrame(
        {
            "class": list(dataset.class_names),
            "training": np.bincount(dataset.y_train, minlength=10),
            "test": np.bincount(dataset.y_test, minlength=10),
        }
    )
    st.bar_chart(counts, x="class", y=["training", "test"], sort=False, stack=False, height=260)


def history_charts(rows: list[dict[str, float]]) -> None:
    """One run's loss and accuracy against epochs: training (running mean) and validation (each epoch).

    `rows` are history records or `progress_rows`: {"epoch", "loss", "accuracy", "val_loss",
    "val_accuracy"}, the validation values None between epochs.
    """
    _curves({"": rows}, colour="split")


def history_overlay(runs: dict[str, list[dict[str, float]]]) -> None:
    """Several runs in one chart per metric: a colour per run, training solid, validation dashed.

    `runs` maps a run's label to its rows, as `history_charts` takes them.
    """
    _curves(runs, colour="run")


def _curves(runs: dict[str, list[dict[str, float]]], colour: str) -> None:
    """Plain Vega-Lite specs rather than Altair objects: ~3 ms a redraw instead of ~50 ms, which
    matters while a poll redraws them every second beside a training thread."""
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
    encoding = {
        "x": {"field": "epoch", "type": "quantitative"},
        "color": {"field": colour, "type": "nominal", "title": None},
    }
    if colour == "run":  # several runs: the split is told by the dash instead
        encoding["color"]["sort"] = list(runs)
        encoding["strokeDash"] = {"field": "split", "type": "nominal", "title": None}
    for column, metric in zip(st.columns(2), ("loss", "accuracy"), strict=True):
        y = {"field": "value", "type": "quantitative", "title": metric, "scale": {"zero": False}}
        spec = {
            "height": 230,
            "encoding": {**encoding, "y": y},
            "layer": [
                {"transform": [{"filter": "datum.split == 'training'"}], "mark": "line"},
                {
                    "transform": [{"filter": "datum.split == 'validation'"}],
                    "mark": {"type": "line", "point": True},
                },
            ],
        }
        column.vega_lite_chart(table[table.metric == metric], spec)


def progress_rows(
    points: tuple[train.Progress, ...], limit: int = CHART_POINTS, earlier: Sequence[dict[str, float]] = ()
) -> list[dict[str, float]]:
    """Training progress reports as chart rows after `earlier` rows (the runs this one continues).

    Batch reports are rows at fractional epochs, epoch reports rows with the validation figures. Every
    epoch row is kept; the batch rows, old and new, are thinned evenly to about `limit`, so a long run
    (or one continued many times) draws as fast as a short one while its whole curve stays.
    """
    batch = [row["val_loss"] is None for row in earlier] + [p.kind == "batch" for p in points]
    keep = _thinned(batch, limit)
    rows = [row for row, kept in zip(earlier, keep, strict=False) if kept]
    rows += [
        {"epoch": p.epoch - 1 + p.batch / max(p.batches, 1), "loss": p.loss, "accuracy": p.accuracy,
         "val_loss": p.val_loss, "val_accuracy": p.val_accuracy}
        for p, kept in zip(points, keep[len(earlier):], strict=True)
        if kept
    ]  # fmt: skip
    return rows


def _thinned(batch: list[bool], limit: int) -> list[bool]:
    """Which rows to keep: every one that is not a batch row (`batch` False), the last, and an even
    spread of about `limit` of the batch rows."""
    step = max(1, -(-sum(batch) // limit))  # ceiling
    keep, seen = [], 0
    for is_batch in batch:
        keep.append(not is_batch or seen % step == 0)
        seen += is_batch
    if keep:
        keep[-1] = True
    return keep
