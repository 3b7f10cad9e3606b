"""The Misclassifications page: filters by true and predicted class, confusion cells, one example."""

import json
import re

import numpy as np
import pytest

from mnist_mlp import colours
from tests.app.conftest import open_page


def shown_indices(at) -> list[int]:
    """The test-image numbers of the mistakes on show, read from the 'look closer' choices."""
    return [int(re.search(r"#(\d+)", label).group(1)) for label in at.selectbox(key="mistakes_pick").options]


def test_filters_and_confusion_cells_lead_to_the_right_mistakes(app, trained, digits):
    from mnist_mlp import evaluate, run, unsure

    expected = evaluate.evaluate(trained.model, digits.x_test, digits.y_test)
    detector = run.fallback_detector(trained.model, digits)
    open_page(app, "misclassifications")
    assert not app.exception and not app.error
    assert f"gets **{len(expected.mistakes()):,}** wrong" in app.markdown[0].value
    assert shown_indices(app) == [m.index for m in expected.mistakes()[:36]]
    flagged = unsure.flags(detector, unsure.scores(detector, trained.model, digits.x_test))
    rest = (expected.predictions[~flagged] == expected.labels[~flagged]).mean()
    sentence = app.markdown[1].value
    assert f"It calls **{flagged.sum():,}** of them **Unsure** ({flagged.mean():.1%})" in sentence
    assert f"on the other {(~flagged).sum():,} it reads **{rest:.2%}** right" in sentence

    app.selectbox(key="mistakes_true").select(4).run()
    assert shown_indices(app) == [m.index for m in expected.mistakes(4)[:36]]

    confusion = expected.confusion.copy()
    np.fill_diagonal(confusion, 0)
    worst = tuple(int(i) for i in np.unravel_index(confusion.argmax(), confusion.shape))
    cells = app.selectbox(key="mistakes_cell")
    assert cells.options[1].endswith(f": {confusion[worst]}"), "cells sorted by count"
    cells.select(worst).run()
    assert (app.selectbox(key="mistakes_true").value, app.selectbox(key="mistakes_predicted").value) == worst
    assert shown_indices(app) == [m.index for m in expected.mistakes(*worst)[:36]]

    app.radio(key="mistakes_order").set_value("least confident first").run()
    assert shown_indices(app) == [m.index for m in expected.mistakes(*worst, most_confident_first=False)[:36]]
    last = expected.mistakes(*worst, most_confident_first=False)[:36][-1]
    app.selectbox(key="mistakes_pick").select(last).run()
    assert not app.exception
    assert app.selectbox(key="mistakes_pick").value == last


def test_a_filter_with_no_mistakes_says_so(app, trained, digits):
    from mnist_mlp import evaluate

    expected = evaluate.evaluate(trained.model, digits.x_test, digits.y_test)
    empty = next((t, p) for t in range(10) for p in range(10) if t != p and expected.confusion[t, p] == 0)
    open_page(app, "misclassifications")
    app.selectbox(key="mistakes_true").select(empty[0])
    app.selectbox(key="mistakes_predicted").select(empty[1])
    app.run()
    assert "No mistakes with these filters." in [info.value for info in app.info]


def test_a_mistake_is_explained_for_the_answer_or_the_true_class(app, trained, digits):
    from mnist_mlp import evaluate, explain

    first = evaluate.evaluate(trained.model, digits.x_test, digits.y_test).mistakes()[0]
    image = digits.x_test[first.index]
    open_page(app, "misclassifications")
    assert not app.exception and not app.error
    assert app.header[-1].value == f"Why {first.predicted_class}?"
    for which, target in (("true", first.true_class), ("predicted", first.predicted_class)):
        app.radio(key="mistakes_explain").set_value(which).run()
        expected = explain.explain(trained.model, image, target=target)
        assert app.header[-1].value == f"Why {target}?"
        rise = expected.logits[target] - expected.baseline_logit
        assert any(f"blank image, {rise:+.2f}" in caption.value for caption in app.caption)
    app.toggle(key="mistakes_neighbours").set_value(True).run()
    assert not app.exception
    assert any(m.value.startswith("**By pixels**") for m in app.markdown)
    assert any(m.value.startswith("**As the model sees them**") for m in app.markdown)


def click_chart(at, key_prefix: str, selection: str, point: dict[str, int] | None) -> None:
    """Click a point of the selectable chart whose key starts with `key_prefix`, as the browser reports it.

    AppTest cannot click charts, so this sends the chart's widget state the way Streamlit's frontend
    does after a click on a Vega-Lite point selection ({"selection": {name: [fields of the point]}},
    or {name: {}} for a click on nothing), together with the other widgets' states, and runs the app.
    """
    from streamlit.proto.WidgetStates_pb2 import WidgetStates

    ids = [chart.proto.id for chart in at.get("vega_lite_chart") if f"-{key_prefix}" in chart.proto.id]
    assert len(ids) == 1, f"one chart keyed {key_prefix}*, found {ids}"
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())  # private: AppTest has no public way to send this
    state = states.widgets.add()
    state.id = ids[0]
    state.string_value = json.dumps({"selection": {selection: [point] if point else {}}})
    at._run(states)
    assert not at.exception and not at.error


def filters(at) -> tuple[int, int]:
    return at.selectbox(key="mistakes_true").value, at.selectbox(key="mistakes_predicted").value


def test_a_click_on_a_cell_shows_its_mistakes_and_follows_in_the_url(app, trained, digits):
    from mnist_mlp import evaluate

    expected = evaluate.evaluate(trained.model, digits.x_test, digits.y_test)
    confusion = expected.confusion
    cell = evaluate.error_cells(confusion)[1]  # the second most: not what the select box shows first
    open_page(app, "misclassifications")
    click_chart(app, "mistakes_matrix_", "cell", {"true_index": cell[0], "predicted_index": cell[1]})
    assert filters(app) == cell
    assert app.query_params == {"true": str(cell[0]), "predicted": str(cell[1])}
    assert app.selectbox(key="mistakes_cell").value == cell, "the keyboard's cell picker follows the click"
    assert shown_indices(app) == [m.index for m in expected.mistakes(*cell)[:36]]
    shown = min(int(confusion[cell]), 36)
    assert any(caption.value.startswith(f"{shown:,} mistakes;") for caption in app.caption)

    # The select boxes move away, then the same cell is clicked again: it is shown again
    app.selectbox(key="mistakes_true").select(-1).run()
    assert app.selectbox(key="mistakes_cell").value == (-1, -1), "no single cell picked now"
    click_chart(app, "mistakes_matrix_", "cell", {"true_index": cell[0], "predicted_index": cell[1]})
    assert filters(app) == cell
    assert shown_indices(app) == [m.index for m in expected.mistakes(*cell)[:36]]

    # A click on nothing (beside the cells) keeps the filters
    click_chart(app, "mistakes_matrix_", "cell", None)
    assert filters(app) == cell

    app.selectbox(key="mistakes_cell").select((-1, -1)).run()  # the picker's first choice: every cell
    assert filters(app) == (-1, -1) and app.query_params == {}


def test_a_click_on_the_diagonal_or_an_empty_cell_or_a_bar(app, trained, digits):
    from mnist_mlp import evaluate

    expected = evaluate.evaluate(trained.model, digits.x_test, digits.y_test)
    empty = next((t, p) for t in range(10) for p in range(10) if t != p and expected.confusion[t, p] == 0)
    open_page(app, "misclassifications")

    click_chart(app, "mistakes_matrix_", "cell", {"true_index": 3, "predicted_index": 3})
    assert filters(app) == (3, -1), "a right answer's cell: all mistakes of its true class"
    assert app.query_params == {"true": "3"}
    assert shown_indices(app) == [m.index for m in expected.mistakes(3)[:36]]

    click_chart(app, "mistakes_matrix_", "cell", {"true_index": empty[0], "predicted_index": empty[1]})
    assert filters(app) == empty
    assert "No mistakes with these filters." in [info.value for info in app.info]

    worst_class = int(expected.errors_per_class.argmax())
    click_chart(app, "mistakes_class_bars_", "true_class", {"class_index": worst_class})
    assert filters(app) == (worst_class, -1)
    assert app.query_params == {"true": str(worst_class)}
    assert shown_indices(app) == [m.index for m in expected.mistakes(worst_class)[:36]]


def test_a_shared_link_outlines_its_cell_and_picks_it(app, trained, digits):
    from mnist_mlp import evaluate

    expected = evaluate.evaluate(trained.model, digits.x_test, digits.y_test)
    cell = evaluate.error_cells(expected.confusion)[0]
    app.query_params = {"true": str(cell[0]), "predicted": str(cell[1])}
    open_page(app, "misclassifications")
    assert filters(app) == cell
    assert app.selectbox(key="mistakes_cell").value == cell
    assert shown_indices(app) == [m.index for m in expected.mistakes(*cell)[:36]]


def test_the_clicked_point_is_read_from_what_streamlit_returns():
    from streamlit.elements.vega_charts import VegaLiteStateSerde

    from ui import charts

    serde = VegaLiteStateSerde(["cell"])
    sent = json.dumps({"selection": {"cell": [{"true_index": 4, "predicted_index": 9}]}})
    assert charts.clicked_cell(serde.deserialize(sent)) == (4, 9)
    assert charts.clicked_cell(serde.deserialize(json.dumps({"selection": {"cell": {}}}))) is None
    assert charts.clicked_cell(serde.deserialize(None)) is None  # not clicked yet
    assert charts.clicked_cell({"selection": {"cell": [{"true_index": "x"}]}}) is None
    bars = VegaLiteStateSerde(["true_class"])
    assert (
        charts.clicked_class(
            bars.deserialize(json.dumps({"selection": {"true_class": [{"class_index": 7}]}}))
        )
        == 7
    )


def test_matrix_colours_empty_errors_by_count_grey_diagonal_readable_numbers():
    from ui import charts

    confusion = np.diag(np.full(10, 900))
    confusion[4, 9], confusion[7, 2], confusion[3, 5], confusion[5, 3] = 40, 1, 2, 12
    cells = {
        (c["true_index"], c["predicted_index"]): c
        for c in charts.confusion_cells(confusion, list("0123456789"))
    }
    assert cells[(0, 1)]["fill"] == "transparent" and cells[(0, 1)]["label"] == "", "no errors reads as empty"
    assert {cells[(t, t)]["fill"] for t in range(10)} == {colours.RIGHT_FILL}, "the diagonal set apart"
    shades = [cells[cell]["fill"] for cell in ((7, 2), (3, 5), (5, 3), (4, 9))]  # 1, 2, 12, 40 errors
    lightness = [colours.luminance(fill) for fill in shades]
    assert lightness == sorted(lightness, reverse=True) and len(set(shades)) == 4, "darker for more"
    assert colours.contrast_ratio(shades[0], "#ffffff") > 1.3, "one error is not near-white"
    assert colours.contrast_ratio(colours.RIGHT_FILL, shades[0]) > 1.05, "grey diagonal apart from one error"
    for cell in cells.values():
        if cell["label"]:
            assert colours.contrast_ratio(cell["ink"], cell["fill"]) >= 4.5, cell
    assert cells[(4, 9)]["ink"] == "#ffffff" and cells[(7, 2)]["ink"] == "#000000"
    assert colours.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)

    picked = charts.confusion_cells(confusion, list("0123456789"), (4, None))
    assert [(c["true_index"], c["predicted_index"]) for c in picked if c["picked"]] == [
        (4, p) for p in range(10) if p != 4
    ], "a true class picked: its row's error cells outlined"


def matrix(at):
    """The confusion matrix on show: its spec and its 100 cells by (true, predicted)."""
    from tests.app.conftest import chart_table

    (chart,) = [chart for chart in at.get("vega_lite_chart") if "-mistakes_matrix_" in chart.proto.id]
    table = chart_table(chart)
    return json.loads(chart.proto.spec), {
        (int(row.true_index), int(row.predicted_index)): row for row in table.itertuples()
    }


def test_the_share_view_shows_each_true_class_as_shares_and_a_click_still_opens_a_cell(app, trained, digits):
    from mnist_mlp import evaluate

    expected = evaluate.evaluate(trained.model, digits.x_test, digits.y_test)
    confusion = expected.confusion
    totals = np.bincount(digits.y_test, minlength=10)  # the bundled sample's 1,000 test digits
    open_page(app, "misclassifications")
    assert app.radio(key="mistakes_view").value == "counts" and "matrix" not in app.query_params
    spec, cells = matrix(app)
    assert [cells[(t, 2)].label for t in range(10) if confusion[t, 2]] == [
        str(confusion[t, 2]) for t in range(10) if confusion[t, 2]
    ]

    app.radio(key="mistakes_view").set_value("share").run()
    assert not app.exception and not app.error
    assert app.query_params == {"matrix": "share"}
    spec, cells = matrix(app)
    assert "share of its true class" in spec["description"]
    for (t, p), cell in cells.items():
        assert cell.count == confusion[t, p]
        assert cell.share == pytest.approx(confusion[t, p] / totals[t], abs=1e-12)
    rows = np.array([[cells[(t, p)].share for p in range(10)] for t in range(10)])
    np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(rows), expected.per_class_accuracy)  # the diagonal: accuracy
    worst = evaluate.error_cells(rows)[0]  # the largest share of a class, maybe not the most errors
    assert cells[worst].label == f"{confusion[worst] / totals[worst[0]]:.1%}"
    assert cells[worst].description == (
        f"{worst[0]} read as {worst[1]}: {cells[worst].label} ({confusion[worst]} of {totals[worst[0]]:,})"
    )
    assert cells[(0, 0)].label == f"{confusion[0, 0] / totals[0]:.1%}"
    assert {cells[(t, p)].label for t in range(10) for p in range(10) if t != p and not confusion[t, p]} == {
        ""
    }
    assert all(cell.label.endswith("%") for cell in cells.values() if cell.count)

    picker = app.selectbox(key="mistakes_cell")
    assert picker.options[0] == "pick a cell, largest share first"
    assert picker.options[1] == f"{worst[0]} read as {worst[1]}: {cells[worst].label} " + (
        f"({confusion[worst]} of {totals[worst[0]]:,})"
    ), "the keyboard's cell picker lists the largest shares first"

    click_chart(app, "mistakes_matrix_", "cell", {"true_index": worst[0], "predicted_index": worst[1]})
    assert filters(app) == worst
    assert app.query_params == {"matrix": "share", "true": str(worst[0]), "predicted": str(worst[1])}
    assert app.selectbox(key="mistakes_cell").value == worst, "the cell picker follows the click"
    assert shown_indices(app) == [m.index for m in expected.mistakes(*worst)[:36]]
    assert app.radio(key="mistakes_view").value == "share", "the click keeps the view"
    spec, cells = matrix(app)
    assert [cell for cell, row in cells.items() if row.picked] == [worst], "the clicked cell outlined"

    click_chart(app, "mistakes_matrix_", "cell", {"true_index": 6, "predicted_index": 6})
    assert filters(app) == (6, -1), "a diagonal cell: all of its class's mistakes"

    app.radio(key="mistakes_view").set_value("counts").run()
    assert app.query_params == {"true": "6"}
    spec, cells = matrix(app)
    assert cells[(6, 6)].label == str(confusion[6, 6])


def test_a_link_opens_the_share_view_and_a_bad_one_the_counts(app):
    app.query_params.update({"matrix": "share", "true": "2"})
    open_page(app, "misclassifications")
    assert app.radio(key="mistakes_view").value == "share" and filters(app) == (2, -1)
    open_page(app, "home")
    open_page(app, "misclassifications")  # the view is kept, as the filters are
    assert app.radio(key="mistakes_view").value == "share"


def test_a_hand_edited_view_falls_back_to_counts(app):
    app.query_params.update({"matrix": "percent"})
    open_page(app, "misclassifications")
    assert not app.exception and app.radio(key="mistakes_view").value == "counts"
    assert "matrix" not in app.query_params


def test_share_cells_of_a_known_matrix_compare_classes_of_different_sizes():
    from ui import charts

    confusion = np.diag(np.full(10, 1000))
    confusion[0, 0], confusion[0, 6] = 970, 10  # 980 zeros
    confusion[1, 1], confusion[1, 7] = 1124, 11  # 1,135 ones: more errors, a smaller share
    confusion[2, 2] = 0  # no twos at all
    confusion[5, 5], confusion[5, 3], confusion[5, 8] = 862, 20, 10  # 892 fives
    confusion[9, 9], confusion[9, 4] = 1, 1  # two nines, one read wrong: half the class
    names = list("0123456789")
    shares = {
        (c["true_index"], c["predicted_index"]): c
        for c in charts.confusion_cells(confusion, names, as_share=True)
    }
    counts = {(c["true_index"], c["predicted_index"]): c for c in charts.confusion_cells(confusion, names)}
    assert shares[(0, 6)]["share"] == 10 / 980 and shares[(1, 7)]["share"] == 11 / 1135
    assert [shares[cell]["label"] for cell in ((0, 6), (1, 7), (5, 3), (5, 5), (9, 4), (9, 9))] == [
        "1.0%", "1.0%", "2.2%", "96.6%", "50.0%", "50.0%"
    ]  # fmt: skip
    assert shares[(5, 3)]["description"] == "5 read as 3: 2.2% (20 of 892)"
    assert shares[(5, 5)]["description"] == "5 read right: 96.6% (862 of 892)"
    darkness = [
        colours.luminance(cells[cell]["fill"]) for cells in (shares, counts) for cell in ((0, 6), (1, 7))
    ]
    assert darkness[0] < darkness[1], "as a share, 10 of 980 zeros is darker than 11 of 1,135 ones"
    assert darkness[2] > darkness[3], "as counts, the other way round"
    assert shares[(9, 4)]["fill"] == colours.error_fill(40, 40) == "#7f2704", "half a class: the darkest"
    assert shares[(2, 2)]["label"] == "–" and shares[(2, 2)]["description"] == "2: no examples"
    assert all(shares[(2, p)]["share"] == 0 for p in range(10)), "a class with no examples: 0, not NaN"
    assert shares[(0, 1)]["fill"] == "transparent" and shares[(0, 1)]["label"] == ""
    assert {shares[(t, t)]["fill"] for t in range(10)} == {colours.RIGHT_FILL}
    for cell in shares.values():
        if cell["label"]:
            assert colours.contrast_ratio(cell["ink"], cell["fill"]) >= 4.5, cell
    assert counts[(5, 3)]["description"] == "5 read as 3: 20", "the counts read as before"


def test_percentages_keep_a_sensible_precision():
    from ui import charts

    assert [charts.percent(share) for share in (0, 1, 0.003, 1 / 1135, 0.0004, 0.9996, 0.125)] == [
        "0%", "100%", "0.3%", "0.1%", "<0.1%", ">99.9%", "12.5%"
    ]  # fmt: skip
    assert [charts.signed_percent(change) for change in (0, 0.25, -0.4, 0.0002)] == [
        "0%", "+25.0%", "-40.0%", "+<0.1%"
    ]  # fmt: skip
