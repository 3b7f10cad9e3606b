"""A live lesson's costs: the panel at full speed, the memory of a run's replay, and 30 watchers.

    python -m benchmarks.lesson [--pairs 3] [--epochs 2] [--watchers 30] [--refreshes 3]

1. The panel's overhead. The default model (784-512-10, batch 128) on the full Fashion-MNIST (54,000
   training images), trained by the app's job with and without a lesson (a Pace at full speed and
   the panel of 20 test images read after every compiled call, with its recording), in alternating
   pairs in one run; images/s over the epochs after the first, which pays for tracing.
2. A replay's memory: the recording (panel answers and weight copies) and the progress reports of
   the default run as the Train page starts it (4 epochs, full Fashion-MNIST), and the most any run
   can hold, from the caps.
3. Watchers: server CPU per refresh of a watch link's page (AppTest, the whole page's script: an upper
   bound on the fragment a browser's poll reruns), while a lesson is paused; and what `--watchers`
   sessions refreshing every poll cost together, as a share of one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mnist_mlp import data, job, lesson, model, run, train
from mnist_mlp.pace import Pace

DATASET = "fashion_mnist"
LIVE_PACE = 20  # steps a second of the lesson the watchers watch going
ALONE_SECONDS = 3.0  # the going lesson measured alone, before the watchers' page runs


def epoch_speeds(points: tuple[train.Progress, ...], images: int) -> float:
    """Images per second over the epochs after the first, from a run's reports."""
    epochs = [p for p in points if p.kind == "epoch"]
    first, last = epochs[0], epochs[-1]
    total = images * last.epochs
    started, ended = (p.fraction * total / p.images_per_second for p in (first, last))
    return (last.fraction - first.fraction) * total / (ended - started)


def row(*cells: object) -> None:
    """One row of a Markdown table."""
    print("| " + " | ".join(map(str, cells)) + " |")


class TimedJob(job.TrainingJob):
    """The app's job, timing what a lesson adds between compiled calls: reading the panel and copying
    the weights out (`_watch`), in the training thread."""

    watch_seconds = 0.0

    def _watch(self, step: int, force: bool = False) -> None:
        started = time.perf_counter()
        super()._watch(step, force)
        self.watch_seconds += time.perf_counter() - started


def train_once(config: model.MLPConfig, split, panel: lesson.Panel | None) -> TimedJob:
    run_pace = Pace() if panel is not None else None
    training = TimedJob(config, split, pace=run_pace, panel=panel).start()
    training.wait()
    if training.status != job.FINISHED:
        raise RuntimeError(f"the run ended {training.status}: {training.state().error}")
    return training


def panel_overhead(dataset: data.Dataset, split, pairs: int, epochs: int) -> None:
    config = model.preset(model.DEFAULT_PRESET).replace(epochs=epochs)
    panel = lesson.choose_panel(dataset.x_test, dataset.y_test, config.seed)
    speeds: dict[bool, list[float]] = {False: [], True: []}
    watched: list[float] = []  # share of a lesson run's training time spent in `_watch`
    for pair in range(pairs):
        for with_panel in (pair % 2 == 0, pair % 2 != 0):  # alternate which goes first
            training = train_once(config, split, panel if with_panel else None)
            speeds[with_panel].append(epoch_speeds(training.state().points, len(split.x_train)))
            if with_panel:
                watched.append(training.watch_seconds / training.result.seconds)
    ratios = [lessoned / plain for plain, lessoned in zip(speeds[False], speeds[True], strict=True)]
    print(
        f"### The panel at full speed ({config.architecture}, batch {config.batch_size}, the full "
        f"Fashion-MNIST's {len(split.x_train):,} training images, epochs 2..{epochs}, {pairs} pairs)\n"
    )
    row("run", "images/s, median", "each run")
    row("---", "---:", "---")
    for label, with_panel in (("without a lesson", False), ("with the panel and a full-speed Pace", True)):
        each = ", ".join(f"{speed:,.0f}" for speed in speeds[with_panel])
        row(label, f"{statistics.median(speeds[with_panel]):,.0f}", each)
    print(
        f"\nwith / without, median of the pairs' ratios: {statistics.median(ratios):.3f} "
        f"({', '.join(f'{ratio:.2f}' for ratio in ratios)})\n"
        f"time the lesson's runs spent reading the panel and copying the weights, of their training time: "
        f"{statistics.median(watched):.1%} (median; {min(watched):.1%}-{max(watched):.1%})\n"
    )


def deep_size(points: tuple[train.Progress, ...]) -> int:
    """Bytes of the progress reports: each dataclass, its dict and its fields."""
    fields = sum(sys.getsizeof(value) for p in points for value in vars(p).values())
    return sum(sys.getsizeof(p) + sys.getsizeof(vars(p)) for p in points) + fields


def replay_memory(dataset: data.Dataset, split) -> None:
    config = model.preset(model.DEFAULT_PRESET)
    panel = lesson.choose_panel(dataset.x_test, dataset.y_test, config.seed)
    training = train_once(config, split, panel)
    recording, points = training.recording, training.state().points
    units = training.state().weights.shape[0]
    answers_cap = lesson.MAX_ANSWER_FRAMES * len(panel.labels) * 3  # int8 class, float16 confidence
    weights_cap = lesson.MAX_WEIGHT_FRAMES * units * 28 * 28 * 2  # float16
    points_each = deep_size(points) / max(len(points), 1)
    print(
        f"### A replay's memory ({config.architecture}, {config.epochs} epochs on the full Fashion-MNIST, "
        f"{training.result.seconds:,.0f} s of training)\n"
    )
    row("part", "this run", "at most (the caps)")
    row("---", "---:", "---:")
    row("panel answers", f"{len(recording.steps()):,} frames",
        f"{lesson.MAX_ANSWER_FRAMES:,} frames, {answers_cap / 1e3:,.0f} kB")  # fmt: skip
    row(f"weight copies ({units} units, float16)", _weight_frames(recording),
        f"{lesson.MAX_WEIGHT_FRAMES}, {weights_cap / 1e6:.1f} MB")  # fmt: skip
    row(
        "recording, all arrays",
        f"{recording.nbytes / 1e6:.2f} MB",
        f"{(answers_cap + weights_cap) / 1e6:.1f} MB",
    )
    row("progress reports (the curves)", f"{len(points):,}, {deep_size(points) / 1e6:.2f} MB",
        f"{job.MAX_POINTS:,}, {job.MAX_POINTS * points_each / 1e6:.2f} MB")  # fmt: skip
    print()


def _weight_frames(recording: lesson.Recording) -> int:
    return len({recording.weights_at(step).step for step in recording.steps()})


def _navigation_kept() -> None:
    """As tests/app/conftest.py does: AppTest forgets before each run that st.navigation is in use."""
    from streamlit.runtime.pages_manager import PagesManager

    from ui import legacy_pages

    original_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        legacy_pages.stop_legacy_mode()
        original_init(self, *args, **kwargs)

    PagesManager.__init__ = init


def refresh_all(sessions: list, refreshes: int) -> tuple[float, float]:
    """Process CPU seconds and wall seconds for `refreshes` runs of every session's page."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(refreshes):
        for watcher in sessions:
            watcher.run()
            if watcher.exception:
                raise RuntimeError(watcher.exception[0].value)
    return time.process_time() - cpu, time.perf_counter() - wall


def steps_done(session) -> int:
    return session.job.state().progress.step


def watchers(count: int, refreshes: int) -> None:
    """Server CPU per watch-link refresh, as AppTest runs the page: with the lesson paused mid-run, then
    going at LIVE_PACE, where the training thread's own CPU (measured alone first) is taken off and the
    pace it kept is reported."""
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, PAGES, TIMEOUT
    from ui import training as ui_training

    _navigation_kept()
    teacher = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    teacher.switch_page(PAGES["train"]).run()
    teacher.checkbox(key="train_start_paused").check().run()
    teacher.button(key="train_start").click().run()
    if "training" not in teacher.session_state:
        raise RuntimeError(f"the lesson did not start: {teacher.exception or teacher.error}")
    session = teacher.session_state["training"]
    while session.job.state().progress is None:
        session.job.pace.step()
        time.sleep(0.2)
    sessions = [AppTest.from_file(str(APP), default_timeout=TIMEOUT) for _ in range(count)]
    for watcher in sessions:
        watcher.query_params["watch"] = session.watch_id
        watcher.switch_page(PAGES["train"]).run()  # the first run imports and caches what pages share
    paused_cpu, paused_wall = refresh_all(sessions, refreshes)

    session.job.pace.set_steps_per_second(LIVE_PACE)
    session.job.pace.resume()
    time.sleep(1)
    cpu, wall, steps = time.process_time(), time.perf_counter(), steps_done(session)
    time.sleep(ALONE_SECONDS)
    training_share = (time.process_time() - cpu) / (time.perf_counter() - wall)  # cores, training alone
    steps = steps_done(session)
    live_cpu, live_wall = refresh_all(sessions, refreshes)
    kept_pace = (steps_done(session) - steps) / live_wall
    session.job.stop()
    session.job.wait(10)

    runs = count * refreshes
    paused_each = paused_cpu / runs
    live_each = (live_cpu - training_share * live_wall) / runs
    print(f"### {count} watchers of a lesson (the default model, {session.dataset}), {refreshes} runs each\n")
    row("lesson", "server CPU per watcher's page run", "wall per run", f"{count} watchers every poll")
    row("---", "---:", "---:", "---:")
    for label, each, wall_each in (
        ("paused", paused_each, paused_wall / runs),
        (f"going at {LIVE_PACE} steps a second", live_each, live_wall / runs),
    ):
        share = count * each / ui_training.POLL_SECONDS
        row(label, f"{each * 1e3:.0f} ms", f"{wall_each * 1e3:.0f} ms", f"{share:.2f} of a core")
    print(
        f"\nWhile the watchers' pages ran back to back the lesson kept {kept_pace:.1f} steps a second "
        f"(asked: {LIVE_PACE}); its training thread alone used {training_share:.2f} of a core. A page run "
        "here is the whole script (sidebar and all): an upper bound on the fragment a browser's poll "
        f"reruns every {ui_training.POLL_SECONDS:g} s.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="runs with and without the panel, each")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each overhead run (speed over 2..n)")
    parser.add_argument("--watchers", type=int, default=30)
    parser.add_argument("--refreshes", type=int, default=3, help="page runs per watcher")
    parser.add_argument("--skip", choices=("overhead", "memory", "watchers"), nargs="*", default=())
    arguments = parser.parse_args()
    dataset = data.load(DATASET, allow_download=False)
    if dataset.is_sample:
        sys.exit("The full Fashion-MNIST is needed: apt-get install dataset-fashion-mnist")
    split = run.split(dataset, model.MLPConfig().seed, run.VALIDATION_FRACTION)
    if "overhead" not in arguments.skip:
        panel_overhead(dataset, split, arguments.pairs, arguments.epochs)
    if "memory" not in arguments.skip:
        replay_memory(dataset, split)
    if "watchers" not in arguments.skip:
        watchers(arguments.watchers, arguments.refreshes)


if __name__ == "__main__":
    main()
