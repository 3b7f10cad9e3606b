"""The Misclassifications page: filters by true and predicted class, confusion cells, one example."""

import re

import numpy as np

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
    assert app.subheader[-1].value == f"Why {first.predicted_class}?"
    for which, target in (("true", first.true_class), ("predicted", first.predicted_class)):
        app.radio(key="mistakes_explain").set_value(which).run()
        expected = explain.explain(trained.model, image, target=target)
        assert app.subheader[-1].value == f"Why {target}?"
        rise = expected.logits[target] - expected.baseline_logit
        assert any(f"blank image, {rise:+.2f}" in caption.value for caption in app.caption)
    app.toggle(key="mistakes_neighbours").set_value(True).run()
    assert not app.exception
    assert any(m.value.startswith("**By pixels**") for m in app.markdown)
    assert any(m.value.startswith("**As the model sees them**") for m in app.markdown)
