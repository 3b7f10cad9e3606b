"""Charts: class probabilities, confusion (and its change between two models), accuracy per class, and
learning curves of one run or several."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from mnist_mlp import colours, evaluate

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mnist_mlp import compare, data, train

CHART_POINTS = 300  # batch reports drawn per chart at most
BAR_COLOUR = "#4c78a8"  # Vega's first colour, as in the other charts
# The confusion matrix: see colours.error_fill for why its colours
EMPTY_FILL = "transparent"  # an error cell with none: no fill, it reads as empty on either theme
GRID_STROKE = "#c8c8c8"  # the thin lines between cells, so empty cells still show where they are
PICKED_STROKE = "#08306b"  # dark blue: the outline of the cells on show below, the picked class's bar
CELL_SELECTION, CELL_FIELDS = "cell", ("true_index", "predicted_index")  # Vega-Lite point selections
CLASS_SELECTION = "true_class"


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


def confusion_heatmap(
    confusion: np.ndarray,
    names: list[str],
    picked: tuple[int | None, int | None] = (None, None),
    key: str | None = None,
    on_click: Callable[[], None] | None = None,
    as_share: bool = False,
) -> None:
    """The (10, 10) confusion counts as a grid of numbered cells, rows the true class, columns the answer.

    Colours (see `confusion_cells`): an empty error cell has no fill, errors are shaded by count in one
    sequential scale, the right answers on the diagonal are neutral grey, and each number is black or
    white, whichever reads better on its cell. With `as_share`, each cell is its share of the true
    class instead (the diagonal each class's accuracy), numbered and shaded by that share, so classes
    of different sizes compare fairly. The cells the mistakes below are filtered to (`picked`: true
    and predicted class, None for any) are outlined. With `key` and `on_click`, clicking a cell calls
    `on_click` with the click in st.session_state[key] (read it with `clicked_cell`).
    """
    import altair as alt

    measure = (
        alt.Tooltip("share:Q", title="share of the true class", format=".2%")
        if as_share
        else alt.Tooltip("count:Q")
    )
    what = "each cell as a share of its true class" if as_share else "how many in each cell"
    _heatmap(
        confusion_cells(confusion, names, picked, as_share),
        names,
        [measure, *([alt.Tooltip("count:Q")] if as_share else [])],
        f"Confusion matrix, rows the true class, columns the answer: {what}",
        key,
        on_click,
    )


def change_heatmap(comparison: compare.ClassComparison, as_share: bool = False) -> None:
    """How the second model's confusion matrix differs from the first's, cell by cell (second minus
    first), as counts or (`as_share`) as shares of each true class; see `change_cells` for its colours."""
    import altair as alt

    change = alt.Tooltip("share_change:Q", title="change, share of the true class", format="+.2%")
    what = "percentage points of each true class" if as_share else "images"
    _heatmap(
        change_cells(comparison, as_share),
        list(comparison.names),
        [*([change] if as_share else []), alt.Tooltip("change:Q", title="change, images", format="+d")],
        f"Change in the confusion matrix, B minus A, rows the true class, columns the answer, in {what}",
    )


def _heatmap(
    rows: list[dict[str, object]],
    names: list[str],
    tooltip: list[object],
    description: str,
    key: str | None = None,
    on_click: Callable[[], None] | None = None,
) -> None:
    """A (10, 10) grid of `rows` (from `confusion_cells` or `change_cells`): each cell filled, numbered
    in its ink, said to a screen reader by its description, and outlined where picked."""
    import altair as alt
    import pandas as pd

    cells = pd.DataFrame(rows)
    # Digits upright; garment names slanted, all shown: Vega would drop every other one, judging by
    # the upright boxes of slanted labels that in fact do not touch
    angle = 0 if max(map(len, names)) <= 2 else -45
    base = alt.Chart(cells).encode(
        x=alt.X("predicted:N", sort=names, axis=alt.Axis(labelAngle=angle, labelOverlap=False)),
        y=alt.Y("true:N", sort=names, title="true"),
        tooltip=[alt.Tooltip("true:N"), alt.Tooltip("predicted:N"), *tooltip],
        description="description:N",  # what a screen reader says of a cell
    )
    heat = base.mark_rect(stroke=GRID_STROKE, strokeWidth=0.5, cursor="pointer").encode(
        color=alt.Color("fill:N", scale=None)
    )
    outline = base.transform_filter("datum.picked").mark_rect(
        filled=False, stroke=PICKED_STROKE, strokeWidth=3, cursor="pointer"
    )
    text = base.mark_text(fontSize=11, cursor="pointer").encode(
        text="label:N", color=alt.Color("ink:N", scale=None)
    )
    # The outline layer only when it outlines something: Vega draws an empty layer as an unnamed
    # graphic, which screen readers announce and axe-core counts as a serious fault (svg-img-alt)
    outlines = [outline] if any(row["picked"] for row in rows) else []
    shape = {"height": 360, "description": description}
    if on_click is None:
        st.altair_chart(alt.layer(heat, *outlines, text).properties(**shape))
        return
    click = alt.selection_point(name=CELL_SELECTION, fields=list(CELL_FIELDS), on="click", toggle=False)
    chart = alt.layer(heat.add_params(click), *outlines, text).properties(**shape)
    st.altair_chart(chart, key=key, on_select=on_click, selection_mode=CELL_SELECTION)


def confusion_cells(
    confusion: np.ndarray,
    names: list[str],
    picked: tuple[int | None, int | None] = (None, None),
    as_share: bool = False,
) -> list[dict[str, object]]:
    """The 100 cells of `confusion_heatmap`, row-major: names, indices, count, share of the true class,
    fill, text and its colour.

    The right answers on the diagonal are grey, an error cell with none has no fill, the others are
    shaded by `colours.error_fill` (by count, or with `as_share` by share: the scale then starts at
    one error in the largest class), and each number is in `colours.readable_ink` on its cell.
    """
    shares = evaluate.confusion_shares(confusion)
    totals = confusion.sum(axis=1)  # (10,) examples of each true class
    shaded = shares if as_share else confusion
    least, most = colours.scale_ends(shaded, int(totals.max(initial=0)) if as_share else None)
    true_picked, predicted_picked = picked
    cells = []
    for t in range(len(confusion)):
        for p in range(len(confusion)):
            count, share = int(confusion[t, p]), float(shares[t, p])
            shown = percent(share) if as_share else str(count)
            of_class = f" ({count:,} of {int(totals[t]):,})" if as_share else ""
            if t == p:
                fill, label, said = colours.RIGHT_FILL, shown, f"{names[t]} read right: {shown}{of_class}"
                if as_share and not totals[t]:
                    label, said = "–", f"{names[t]}: no examples"
            elif count == 0:
                fill, label, said = EMPTY_FILL, "", f"{names[t]} read as {names[p]}: none"
            else:
                fill, label = colours.error_fill(float(shaded[t, p]), most, least), shown
                said = f"{names[t]} read as {names[p]}: {shown}{of_class}"
            outlined = (true_picked, predicted_picked) != (None, None) and t != p
            outlined &= true_picked in (None, t) and predicted_picked in (None, p)
            cells.append(_cell(names, t, p, fill, label, said, outlined, count=count, share=share))
    return cells


def change_cells(comparison: compare.ClassComparison, as_share: bool = False) -> list[dict[str, object]]:
    """The 100 cells of `change_heatmap`, row-major: names, indices, the change in images and in share of
    the true class (second model minus first), fill, text and its colour.

    The diagonal (more or fewer read right) is grey; an error cell that did not change has no fill; the
    others are red where the second model makes that mistake more often, blue where less, stronger for
    a larger change (`colours.change_fill`, by count, or with `as_share` by share of the true class).
    """
    names, changes = comparison.names, comparison.confusion_difference
    share_changes = comparison.share_difference
    totals = comparison.first_confusion.sum(axis=1)  # (10,) of the same set: the second's are the same
    shaded = share_changes if as_share else changes
    least, most = colours.scale_ends(np.abs(shaded), int(totals.max(initial=0)) if as_share else None)
    cells = []
    for t in range(len(changes)):
        for p in range(len(changes)):
            change, share_change = int(changes[t, p]), float(share_changes[t, p])
            what = f"{names[t]} read right" if t == p else f"{names[t]} read as {names[p]}"
            if change == 0:
                label, said = "0%" if as_share else "0", f"{what}: as often in both"
            elif as_share:
                label = signed_percent(share_change)
                said = (
                    f"{what}: {abs(share_change) * 100:.1f} percentage points "
                    f"{'more' if change > 0 else 'less'} often in B ({change:+,} of {int(totals[t]):,})"
                )
            else:
                label = f"{change:+,}"
                said = f"{what}: {abs(change):,} {'more' if change > 0 else 'fewer'} in B"
            if t == p:
                fill = colours.RIGHT_FILL
            elif change == 0:
                fill, label = EMPTY_FILL, ""
            else:
                fill = colours.change_fill(float(shaded[t, p]), most, least)
            cells.append(_cell(names, t, p, fill, label, said, change=change, share_change=share_change))
    return cells


def _cell(
    names: Sequence[str], t: int, p: int, fill: str, label: str, said: str, picked: bool = False, **values
) -> dict[str, object]:
    """One cell of a heatmap: its classes, its `values`, how it is filled and numbered, and what is said."""
    ink = colours.readable_ink(fill if fill != EMPTY_FILL else "#ffffff")
    return {
        "true": names[t], "predicted": names[p], "true_index": t, "predicted_index": p, **values,
        "label": label, "fill": fill, "picked": picked, "description": said, "ink": ink,
    }  # fmt: skip


def percent(share: float) -> str:
    """A share in [0, 1] as a percentage to 0.1 (0.3%, 98.2%), never rounded to a false 0.0% or 100.0%."""
    if share in (0, 1):
        return f"{share:.0%}"
    return "<0.1%" if share < 0.0005 else ">99.9%" if share > 0.9995 else f"{share:.1%}"


def signed_percent(change: float) -> str:
    """A change of share in [-1, 1] as signed percentage points to 0.1 (+0.3%, -1.2%), "0%" for none."""
    return "0%" if change == 0 else ("+" if change > 0 else "-") + percent(abs(change))


def class_error_bars(
    errors: np.ndarray,
    accuracy: np.ndarray,
    names: list[str],
    picked: int | None = None,
    key: str | None = None,
    on_click: Callable[[], None] | None = None,
) -> None:
    """How many of each true class are read wrong, as horizontal bars in class order, each labelled
    with the count and the class's accuracy; the class `picked` (the true-class filter) darker.

    Errors rather than accuracy: at 96-100% right, bars of accuracy from 0 look all alike, while the
    errors differ several-fold. With `key` and `on_click`, clicking a bar calls `on_click` with the
    click in st.session_state[key] (read it with `clicked_class`).
    """
    import altair as alt
    import pandas as pd

    table = pd.DataFrame(
        {
            "class": names,
            "class_index": range(len(names)),
            "errors": np.asarray(errors, int),
            "accuracy": np.asarray(accuracy, float),
            "label": [f"{e:,} ({a:.1%} right)" for e, a in zip(errors, accuracy, strict=True)],
            "picked": [index == picked for index in range(len(names))],
            "description": [
                f"{name}: {e:,} read wrong, {a:.1%} right"
                for name, e, a in zip(names, errors, accuracy, strict=True)
            ],
        }
    )
    room = max(int(np.max(errors, initial=0)) * 1.6, 1)  # beside the longest bar, room for its label
    base = alt.Chart(table).encode(
        x=alt.X("errors:Q", title="read wrong", scale=alt.Scale(domain=[0, room])),
        y=alt.Y("class:N", sort=names, title="true class"),
        tooltip=[alt.Tooltip("class:N"), alt.Tooltip("errors:Q"), alt.Tooltip("accuracy:Q", format=".2%")],
        description="description:N",
    )
    colour = alt.condition("datum.picked", alt.value(PICKED_STROKE), alt.value(BAR_COLOUR))
    bars = base.mark_bar(cursor="pointer").encode(color=colour)
    text = base.mark_text(align="left", dx=4, cursor="pointer").encode(text="label:N")
    if on_click is None:
        st.altair_chart((bars + text).properties(height=360))
        return
    click = alt.selection_point(name=CLASS_SELECTION, fields=["class_index"], on="click", toggle=False)
    chart = (bars.add_params(click) + text).properties(height=360)
    st.altair_chart(chart, key=key, on_select=on_click, selection_mode=CLASS_SELECTION)


def clicked_cell(state: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """The (true, predicted) cell a click on `confusion_heatmap` chose, from its st.session_state value
    (Streamlit's VegaLiteState: {"selection": {"cell": [{"true_index": 3, "predicted_index": 5}]}});
    None when the click chose nothing (a click beside the cells, a double click that clears)."""
    point = _first_point(state, CELL_SELECTION)
    try:
        return (int(point["true_index"]), int(point["predicted_index"])) if point else None
    except (KeyError, TypeError, ValueError):
        return None


def clicked_class(state: Mapping[str, Any] | None) -> int | None:
    """The class a click on `class_error_bars` chose (see `clicked_cell`); None when it chose none."""
    point = _first_point(state, CLASS_SELECTION)
    try:
        return int(point["class_index"]) if point else None
    except (KeyError, TypeError, ValueError):
        return None


def _first_point(state: Mapping[str, Any] | None, selection: str) -> Mapping[str, Any] | None:
    points = ((state or {}).get("selection") or {}).get(selection)
    return points[0] if isinstance(points, list) and points and isinstance(points[0], Mapping) else None


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
    marks = {"training": "line", "validation": {"type": "line", "point": True}}
    for column, metric in zip(st.columns(2), ("loss", "accuracy"), strict=True):
        shown = table[table.metric == metric]
        # A layer only for a split with rows: Vega draws an empty layer (no validation point before
        # the first epoch ends) as an unnamed graphic, which screen readers announce and axe-core
        # counts as a serious fault (svg-img-alt)
        splits = [split for split in marks if (shown.split == split).any()]
        y = {"field": "value", "type": "quantitative", "title": metric, "scale": {"zero": False}}
        spec = {
            "height": 230,
            "description": f"{metric.capitalize()} by epoch: {' and '.join(splits)}",
            "encoding": {**encoding, "y": y},
            "layer": [
                {"transform": [{"filter": f"datum.split == '{split}'"}], "mark": marks[split]}
                for split in splits
            ],
        }
        column.vega_lite_chart(shown, spec)


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
