"""A live lesson in Chromium: a slow run paused, stepped batch by batch while the panel's answers change,
watched read-only through its link on a phone, then replayed; the README's screenshot of a lesson."""

from __future__ import annotations

import re

import pytest

from tests.e2e import axe
from tests.e2e.conftest import assert_no_exception, open_page, screenshot, wait_for_idle, watch_runs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LESSON = "train?preset=784-50-50-10&epochs=20&pace=5"
PANEL = "[data-testid='panel-image']"
STEP_HEADING = re.compile(r"as the model reads them at step ([\d,]+)")
WATCH_LINK = re.compile(r"https?://\S+/train\?watch=[\w-]+")
TIMEOUT_MS = 60_000


def progress_text(page) -> str:
    return page.locator("[data-testid='stProgress']").first.inner_text()


def wait_for_progress(page, pattern: str) -> None:
    """Until the progress bar's text matches `pattern` (a poll redraws it every 2 s)."""
    page.locator("[data-testid='stProgress']").filter(has_text=re.compile(pattern)).first.wait_for(
        timeout=TIMEOUT_MS
    )


def panel_step(page) -> int:
    heading = page.get_by_text(STEP_HEADING).first
    heading.wait_for(timeout=TIMEOUT_MS)
    return int(STEP_HEADING.search(heading.inner_text()).group(1).replace(",", ""))


def panel_answers(page) -> list[str]:
    """The text under each panel image: the answer, its confidence, and the truth when wrong."""
    figures = page.locator(PANEL)
    figures.first.wait_for(timeout=TIMEOUT_MS)
    return [" ".join(text.split()) for text in figures.all_inner_texts()]


def wait_for_panel_step(page, step: int) -> None:
    heading = page.get_by_text(re.compile(rf"as the model reads them at step {step}\b")).first
    heading.wait_for(timeout=TIMEOUT_MS)


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    wait_for_idle(page)


def test_a_slow_lesson_paused_steps_one_batch_at_a_time_and_is_watched_and_replayed(browser, app_url):
    teacher = watch_runs(browser.new_context(viewport={"width": 1400, "height": 1500})).new_page()
    open_page(teacher, app_url, LESSON)
    click(teacher, "Start training")  # at 5 steps a second
    wait_for_progress(teacher, r"step (?:[3-9]|\d\d+) · lesson pace: 5 steps a second")
    click(teacher, "Pause")
    wait_for_progress(teacher, r"· paused")
    teacher.wait_for_timeout(2_500)  # a poll later: held where it paused
    paused_at = panel_step(teacher)
    assert f"step {paused_at:,} · paused" in progress_text(teacher)
    before = panel_answers(teacher)
    assert len(before) == 20

    for stepped_to in (paused_at + 1, paused_at + 2):
        click(teacher, "Step")
        wait_for_progress(teacher, rf"step {stepped_to:,} · paused")
        wait_for_panel_step(teacher, stepped_to)
    stepped = panel_answers(teacher)
    assert stepped != before  # two batches move the answers or their confidences
    teacher.wait_for_timeout(2_500)  # a poll later: still paused there
    assert f"step {paused_at + 2:,} · paused" in progress_text(teacher)
    assert panel_step(teacher) == paused_at + 2
    teacher.get_by_role("button", name="Link to watch").click()
    link = teacher.locator("[data-testid='stCode']").filter(has_text="watch=").first
    link.wait_for(timeout=TIMEOUT_MS)
    url = WATCH_LINK.search(link.inner_text()).group(0)
    teacher.keyboard.press("Escape")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    student = watch_runs(phone).new_page()
    student.goto(url)
    wait_for_idle(student)
    wait_for_progress(student, rf"step {paused_at + 2:,} · paused")
    assert panel_answers(student) == stepped  # the same panel, read the same
    assert student.get_by_role("button", name="Step", exact=True).count() == 0  # read-only
    assert student.get_by_role("button", name="Start training").count() == 0
    assert not axe.severe(axe.lasting(student, "Train, watching a lesson on a phone"))

    click(teacher, "Resume")  # at 5 steps a second
    wait_for_progress(teacher, r"lesson pace: 5 steps a second")
    wait_for_progress(student, r"step (?:[3-9]|\d\d+) · lesson pace")  # the watcher sees it go on
    teacher.wait_for_timeout(4_000)
    click(teacher, "Pause")
    wait_for_progress(teacher, r"· paused")
    screenshot(teacher, "lesson")
    assert_no_exception(teacher)

    click(teacher, "Stop")
    teacher.get_by_text("Stopped at epoch").first.wait_for(timeout=TIMEOUT_MS)
    last = panel_step(teacher)
    assert last > paused_at + 2
    replay = teacher.get_by_role("slider").last  # the replay's slider
    replay.focus()
    replay.press("Home")
    wait_for_idle(teacher)
    wait_for_panel_step(teacher, 0)  # the untrained model's answers, as recorded
    teacher.get_by_text(re.compile(r"First-layer weights at step 0\b")).wait_for(timeout=TIMEOUT_MS)
    replay.press("End")
    wait_for_idle(teacher)
    wait_for_panel_step(teacher, last)
    assert not axe.severe(axe.lasting(teacher, "Train, replaying a lesson"))

    student.get_by_text("Stopped at epoch").first.wait_for(timeout=TIMEOUT_MS)  # the watcher's page too
    assert_no_exception(student)
    teacher.context.close()
    student.context.close()
