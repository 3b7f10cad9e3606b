"""Training: one loop for the CLI and the app, with live progress, a stop switch and snapshots.

The loop keeps the data on the device and runs several optimizer steps per compiled call, which is
what makes it faster than `model.fit` (whose time goes mostly to per-step framework overhead).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mnist_mlp import augment, augment_tf
from mnist_mlp.datasets import Split
from mnist_mlp.model import (
    IMAGE_SHAPE,
    LOSS,
    NUM_CLASSES,
    MLPConfig,
    build_model,
    first_layer_weights,
    learning_rate,
    make_optimizer,
)

if TYPE_CHECKING:
    import keras

    from mnist_mlp.pace import Pace

SNAPSHOT_STEPS = (0, 10, 100, 1000, 10000)  # plus every epoch end: early steps change most
SNAPSHOT_UNITS = 64  # first-layer units kept per snapshot: enough for a grid, small in memory
MAX_SNAPSHOTS = 40  # a long run keeps its early snapshots and an even spread of the later ones
CALL_SECONDS = 0.1  # aim of one compiled call: short enough to stop promptly and report live
MAX_STEPS_PER_CALL = 256
VALIDATION_CHUNK = 8192
OUTLIER = NUM_CLASSES  # the training label of an image of no class: see `train`
RECENT_FRACTION = 0.05  # `recent_speed` is taken over about the last 5% of the run
OUTLIER_WEIGHT = 0.5  # of the outliers' loss against the digits': Hendrycks et al.'s lambda


@dataclass(frozen=True)
class Progress:
    """One report from the loop: after each compiled call ("batch") and each epoch ("epoch")."""

    kind: str  # "batch" or "epoch"
    epoch: int  # 1-based, counting epochs of earlier runs of the same model
    epochs: int  # the epoch this run ends at
    batch: int  # batches done in this epoch
    batches: int  # batches per epoch
    step: int  # optimizer steps of this model so far
    loss: float  # mean over this epoch's batches so far (dropout on, as Keras reports it)
    accuracy: float
    val_loss: float | None  # set on "epoch" reports
    val_accuracy: float | None
    images_per_second: float  # over this run so far
    eta_seconds: float  # for the rest of this run
    fraction: float  # of this run done, in [0, 1]


def recent_speed(points: tuple[Progress, ...]) -> float:
    """Images per second over about the last RECENT_FRACTION of the run, from the reports.

    Each report's own figure is over the run so far: the first call's tracing and the short calls
    up to the early snapshots are in it, so for most of a short run it lags far behind the loop's
    real speed (a 4-epoch run reads 15,000-25,000 in its first half and ends at 29,000, the figure
    the command line's last line shows). Two reports' run-so-far speeds give the time between them:
    elapsed = fraction * images / speed, with the run's image count cancelling out.
    """
    latest = points[-1]
    since = latest.fraction - RECENT_FRACTION
    before = [p for p in points if p.fraction <= since and p.images_per_second > 0]
    if not before or latest.images_per_second <= 0:
        return latest.images_per_second
    first = before[-1]
    between = latest.fraction / latest.images_per_second - first.fraction / first.images_per_second
    return (latest.fraction - first.fraction) / between if between > 0 else latest.images_per_second


@dataclass
class TrainResult:
    """A model and everything learned about it while training; `train` can continue from it."""

    model: keras.Model
    config: MLPConfig
    history: list[dict[str, float]] = field(default_factory=list)  # one dict per (part) epoch
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # step -> (units, 28, 28) f16
    stopped: bool = False  # True when the stop event ended the last run early
    seconds: float = 0.0  # training time over all runs
    images_seen: int = 0

    @property
    def epochs_done(self) -> float:
        return self.history[-1]["epoch"] if self.history else 0.0

    @property
    def steps(self) -> int:
        return int(self.model.optimizer.iterations.numpy())


def train(
    config: MLPConfig,
    split: Split,
    *,
    previous: TrainResult | None = None,
    epochs: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    snapshot_steps: Sequence[int] = SNAPSHOT_STEPS,
    pace: Pace | None = None,
) -> TrainResult:
    """Train a new model from `config`, or go on training `previous` (weights, optimizer, history).

    Args:
        split: x_train, x_val (n, 28, 28) uint8 images, ink white on black; y_train, y_val (n,)
            integer labels in 0..9. A training label of OUTLIER marks an image that is of no class
            (outlier exposure, Hendrycks et al. 2019): the model learns to spread its probabilities
            evenly over the classes for it, so the Unsure verdict can catch such input.
        epochs: epochs to run now (default `config.epochs`).
        on_progress: called from this thread after every compiled call (but an epoch's last) and every epoch.
        stop: when set (from any thread), training ends after the current call (< ~0.1 s) and
            the model keeps what it learned; the result has `stopped=True`.
        snapshot_steps: optimizer steps at which to keep first-layer weights, besides epoch ends.
        pace: when given, asked before every compiled call how many steps may run (a live lesson's
            pace, pause and step: see `pace.Pace`); time spent held back is not training time.
    """
    x_train, y_train, x_val, y_val = split
    _check_arrays(x_train, y_train, "training")
    _check_arrays(x_val, y_val, "validation")
    run_epochs = epochs or config.epochs
    run_steps = run_epochs * math.ceil(len(x_train) / config.batch_size)  # for a decaying rate
    result = _starting_point(config, previous, run_steps)
    runner = _Runner(result.model, config, x_train, y_train, x_val, y_val)
    first_epoch = math.floor(result.epochs_done) + 1
    pending_snapshots = sorted(s for s in set(snapshot_steps) if s >= result.steps)
    _snapshot_if_due(result, pending_snapshots)
    result.stopped = False
    run = _Run(first_epoch + run_epochs - 1, run_epochs * len(x_train), pending_snapshots, pace=pace)
    for epoch in range(first_epoch, run.last_epoch + 1):
        tally = _train_epoch(runner, result, run, epoch, on_progress, stop)
        if tally.batch:  # an epoch stopped before its first step (a paused lesson) adds nothing
            _end_epoch(runner, result, run, epoch, tally, on_progress)
        if stop is not None and stop.is_set():
            result.stopped = True
            break
    result.snapshots = thin_snapshots(result.snapshots)
    result.seconds += run.training_seconds()
    result.images_seen += run.images
    result.config = config
    return result


@dataclass
class _Run:
    """What one call of `train` keeps count of across its epochs."""

    last_epoch: int  # the epoch this run ends at
    total_images: int  # images this run trains on when it is not stopped
    pending_snapshots: list[int]  # optimizer steps still to snapshot, ascending
    started: float = field(default_factory=time.perf_counter)
    images: int = 0  # images trained on so far
    steps_per_call: int = 1  # follows the clock: see `_next_steps_per_call`
    pace: Pace | None = None  # a lesson's pace, pause and step

    def training_seconds(self) -> float:
        """Seconds of this run so far, less those a lesson's pace held it back."""
        held = self.pace.waited_seconds if self.pace is not None else 0.0
        return max(time.perf_counter() - self.started - held, 0.0)

    def speed(self) -> float:
        """Images per second over this run's training time so far."""
        return self.images / max(self.training_seconds(), 1e-9)


@dataclass
class _Tally:
    """One epoch's sums so far; floats, added step by step, so a run gives the same figures however
    its calls split the steps."""

    batches: int  # batches in this epoch
    size: int  # images in this epoch
    batch: int = 0  # batches done
    loss: float = 0.0  # summed over images
    correct: float = 0.0
    inliers: float = 0.0  # images with a class (not OUTLIER)
    images: float = 0.0

    @property
    def mean_loss(self) -> float:
        return self.loss / max(self.images, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.inliers, 1)


def _starting_point(config: MLPConfig, previous: TrainResult | None, run_steps: int) -> TrainResult:
    """A new model for `config`, or `previous` set to train on with this config's optimizer settings."""
    if previous is None:
        return new_result(config, run_steps)
    if previous.config.hidden_units != config.hidden_units:
        raise ValueError(
            f"Cannot continue a {previous.config.architecture} model as {config.architecture}: "
            "the layers must stay the same. Start a new model to change them."
        )
    _follow_optimizer_settings(previous.model, config, run_steps)
    return previous


def _train_epoch(
    runner: _Runner,
    result: TrainResult,
    run: _Run,
    epoch: int,
    on_progress: Callable[[Progress], None] | None,
    stop: threading.Event | None,
) -> _Tally:
    """Train one epoch in compiled calls until its batches are done or `stop` is set, taking the
    snapshots that fall due and reporting after every call but the epoch's last."""
    order = runner.epoch_order(epoch)
    tally = _Tally(batches=math.ceil(len(order) / runner.config.batch_size), size=len(order))
    while tally.batch < tally.batches:
        count = _call_size(run, tally, result.steps)
        if run.pace is not None:
            count = run.pace.take(count, stop)
            if not count:  # stopped while held back
                break
        call_started = time.perf_counter()
        step_losses, correct, inliers, images = runner.run(order, tally.batch, count)
        run.steps_per_call = _next_steps_per_call(count, time.perf_counter() - call_started)
        tally.batch += count
        for step_loss in step_losses:  # step by step: the same sums however the calls split
            tally.loss += float(step_loss)
        tally.correct += correct
        tally.inliers += inliers
        tally.images += images
        run.images += images
        _snapshot_if_due(result, run.pending_snapshots)
        if on_progress and tally.batch < tally.batches:
            remaining = (run.last_epoch - epoch) * tally.size + (tally.size - tally.images)
            on_progress(_progress("batch", epoch, run, tally, result.steps, remaining))
        if stop is not None and stop.is_set():
            break
    return tally


def _call_size(run: _Run, tally: _Tally, step: int) -> int:
    """Steps for the next compiled call: as the clock asks, within the epoch, up to the next snapshot."""
    limit = tally.batches - tally.batch
    if run.pending_snapshots:
        limit = min(limit, max(1, run.pending_snapshots[0] - step))
    return min(run.steps_per_call, limit)


def _end_epoch(
    runner: _Runner,
    result: TrainResult,
    run: _Run,
    epoch: int,
    tally: _Tally,
    on_progress: Callable[[Progress], None] | None,
) -> None:
    """Validate, add the epoch (or the part of it done) to the history, snapshot and report."""
    val_loss, val_accuracy = runner.validate()
    result.history.append(
        {
            "epoch": round(epoch - 1 + tally.batch / tally.batches, 4),
            "loss": tally.mean_loss,
            "accuracy": tally.accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
        }
    )
    _snapshot(result)
    if on_progress:
        remaining = (run.last_epoch - epoch) * tally.size
        on_progress(_progress("epoch", epoch, run, tally, result.steps, remaining, val_loss, val_accuracy))


def _progress(
    kind: str,
    epoch: int,
    run: _Run,
    tally: _Tally,
    step: int,
    remaining: float,
    val_loss: float | None = None,
    val_accuracy: float | None = None,
) -> Progress:
    """A report of this epoch so far, with `remaining` images of the run still to train on."""
    speed = run.speed()
    return Progress(
        kind=kind,
        epoch=epoch,
        epochs=run.last_epoch,
        batch=tally.batch,
        batches=tally.batches,
        step=step,
        loss=tally.mean_loss,
        accuracy=tally.accuracy,
        val_loss=val_loss,
        val_accuracy=val_accuracy,
        images_per_second=speed,
        eta_seconds=remaining / max(speed, 1e-9),
        fraction=1 - remaining / run.total_images,
    )


def with_extras(
    split: Split,
    config: MLPConfig,
    dataset: str,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Split:
    """`split` with what `config` adds: pen-stroke renders of the digits (`pen.with_renders`) and
    images of no class labelled OUTLIER (`foreign.outliers`), training only; `split` itself when it
    asks for neither.

    on_progress: called with (what, done, total) while the renders are made.
    """
    from mnist_mlp import foreign, pen

    if config.pen_strokes and dataset != "mnist":
        raise ValueError(
            f"Pen-stroke renders are drawings of digits. Received: pen_strokes={config.pen_strokes} for "
            f"{dataset}. Set pen_strokes=0 (--pen-strokes 0) for it."
        )
    if config.pen_strokes:

        def rendering(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress("drawing the digits again as pen strokes", done, total)

        split = pen.with_renders(split, config.pen_strokes, seed=config.seed, on_progress=rendering)
    if config.outliers:
        what = "drawing images of no class (outlier exposure)"
        if on_progress is not None:
            on_progress(what, 0, config.outliers)
        outliers = foreign.outliers(dataset, config.outliers, seed=config.seed)
        x_train, y_train, x_val, y_val = split
        labels = np.full(len(outliers), OUTLIER, y_train.dtype)
        split = Split(np.concatenate([x_train, outliers]), np.concatenate([y_train, labels]), x_val, y_val)
        if on_progress is not None:
            on_progress(what, len(outliers), len(outliers))
    return split


def _follow_optimizer_settings(model: keras.Model, config: MLPConfig, total_steps: int) -> None:
    """Make a continued model train with this run's optimizer and learning rate, not the saved ones.

    The same kind of optimizer keeps its moments and only takes the new rate; another kind starts
    fresh moments. The step count carries on either way, as history and snapshots are keyed by it.
    """
    import keras

    optimizer = model.optimizer
    steps = int(optimizer.iterations.numpy()) if optimizer is not None else 0
    if optimizer is not None and type(optimizer).__name__.lower() == config.optimizer:
        scheduled = isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule)
        optimizer.learning_rate = learning_rate(config, total_steps, as_schedule=scheduled, start_step=steps)
        return
    fresh = make_optimizer(config, total_steps, start_step=steps)
    model.compile(optimizer=fresh, loss=LOSS)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(steps)


def new_result(config: MLPConfig, total_steps: int) -> TrainResult:
    """A fresh, compiled model with an empty record, as `train` starts from when given none.

    Args:
        total_steps: optimizer steps of the coming run, which a decaying learning rate spans.
    """
    model = build_model(config)
    model.compile(optimizer=make_optimizer(config, total_steps), loss=LOSS)
    return TrainResult(model=model, config=config)


def thin_snapshots(snapshots: dict[int, np.ndarray], keep: int = MAX_SNAPSHOTS) -> dict[int, np.ndarray]:
    """At most `keep` snapshots: all those at SNAPSHOT_STEPS, the last, and an even spread between.

    Weights change fastest at the start, so the early steps are worth keeping; a 200-epoch run
    would otherwise carry 200 near-identical late snapshots (about 20 MB).
    """
    steps = sorted(snapshots)
    if len(steps) <= keep:
        return snapshots
    fixed = {s for s in steps if s in SNAPSHOT_STEPS} | {steps[-1]}
    rest = [s for s in steps if s not in fixed]
    room = max(0, keep - len(fixed))
    chosen = {rest[round(i * (len(rest) - 1) / max(room - 1, 1))] for i in range(room)} if room else set()
    return {s: snapshots[s] for s in steps if s in fixed | chosen}


def _next_steps_per_call(count: int, seconds: float) -> int:
    """Grow or shrink the steps per call so that one call takes about CALL_SECONDS."""
    per_step = seconds / max(count, 1)
    wanted = int(CALL_SECONDS / max(per_step, 1e-6))
    return max(1, min(MAX_STEPS_PER_CALL, wanted, count * 4))


def _snapshot(result: TrainResult) -> None:
    weights = first_layer_weights(result.model)[:SNAPSHOT_UNITS]
    result.snapshots[result.steps] = weights.astype(np.float16)


def _snapshot_if_due(result: TrainResult, pending: list[int]) -> None:
    """Snapshot once the model has reached the next pending step, and strike that step off."""
    if pending and result.steps >= pending[0]:
        _snapshot(result)
        pending.pop(0)


def _check_arrays(x: np.ndarray, y: np.ndarray, what: str) -> None:
    if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE or x.dtype != np.uint8:
        raise ValueError(
            f"Expected {what} images of shape (n, 28, 28) and dtype uint8. "
            f"Received: shape={x.shape}, dtype={x.dtype}."
        )
    if y.shape != (len(x),):
        raise ValueError(f"Expected one {what} label per image: {len(x)} labels. Received: shape={y.shape}.")
    if len(x) == 0:
        raise ValueError(f"The {what} set is empty: at least one image is needed.")


class _Runner:
    """The compiled pieces of one run: data resident on the device, a multi-step train call."""

    def __init__(self, model, config, x_train, y_train, x_val, y_val):
        import tensorflow as tf

        self.tf = tf
        self.model = model
        self.config = config
        self.x_source = x_train
        self.y = tf.constant(y_train, tf.int32)
        # Memory: the training images stay uint8 on the device and each batch is scaled as it is
        # read (`_scaled`): a float32 copy of a full epoch is 4x larger, and its upload made two
        # more, ~500 MB at once for 54,000 images, again every augmented epoch.
        # Augmented on a GPU, each epoch's distortions are drawn here and applied in the step, on
        # the device (`augment_tf`); on a CPU each epoch's images are distorted on every core first.
        self.distortions = None  # (n, 2, k, k) float32 `augment.draw` coefficients, on the GPU path
        if config.augment and augment_tf.gpu_visible():
            shape = (len(x_train), 2, *augment.coefficient_shape(*x_train.shape[1:]))
            self.distortions = tf.Variable(np.zeros(shape, np.float32), trainable=False)
        if config.mirror or (config.augment and self.distortions is None):
            # a variable, read by reference: each epoch's copy is seen
            self.x = tf.Variable(x_train, trainable=False)  # (n, 28, 28) uint8, made from numpy: one copy
        else:
            self.x = tf.constant(x_train)
        self.x_val = self._upload(x_val)
        self.y_val = tf.constant(y_val, tf.int32)
        self.rng = np.random.default_rng(config.seed)
        if not model.optimizer.built:  # variables must exist before the step is traced
            model.optimizer.build(model.trainable_variables)
        self._train_steps = tf.function(
            self._train_steps_graph,
            input_signature=[tf.TensorSpec((None, None), tf.int32)],
        )
        self._evaluate = tf.function(
            self._evaluate_graph,
            input_signature=[
                tf.TensorSpec((None, *IMAGE_SHAPE), tf.float32),
                tf.TensorSpec((None,), tf.int32),
            ],
        )
        # Traced now, not at their first calls, so that a run's first step and its first validation
        # take as long as any other: a live lesson's first Step would otherwise wait 1-5 s here.
        self._train_steps.get_concrete_function()
        self._evaluate.get_concrete_function()

    def _upload(self, images: np.ndarray):
        return self.tf.constant(images, self.tf.float32) / 255.0  # (n, 28, 28) float32 in [0, 1]

    def epoch_order(self, epoch: int) -> np.ndarray:
        """A fresh shuffle, and for augmented training fresh distortions, for every epoch."""
        seed = self.config.seed * 100_003 + epoch
        images = self.x_source
        if self.config.augment and self.distortions is not None:
            self.distortions.assign(augment.draw(images.shape, seed=seed))  # applied in the step
        elif self.config.augment:
            images = augment.distort(images, seed=seed)
        if self.config.mirror:
            images = augment.mirror(images, seed=seed + 1)
        if images is not self.x_source:
            self.x.assign(images)
        return self.rng.permutation(len(self.x_source)).astype(np.int32)

    def run(self, order: np.ndarray, batch: int, count: int) -> tuple[np.ndarray, float, float, int]:
        """Train on `count` batches starting at batch number `batch` of this epoch's `order`.

        Returns each batch's loss summed over its images, (count,) float32; how many images were
        read right, how many have a class (not OUTLIER), and how many there were. The losses come
        back one per batch, not added up, because the steps per call follow the clock: a float32
        total per call would round differently from run to run, and two seeded runs would differ.
        """
        size = self.config.batch_size
        indices = order[batch * size : (batch + count) * size]
        if len(indices) == count * size:
            parts = [self._train_steps(indices.reshape(count, size))]
        else:  # the epoch's short last batch goes alone, so every batch has one size per call
            full = (count - 1) * size
            parts = [self._train_steps(indices[:full].reshape(count - 1, size))] if full else []
            parts.append(self._train_steps(indices[full:].reshape(1, -1)))
        step_losses = np.concatenate([losses.numpy() for losses, _, _ in parts])
        correct = sum(float(part_correct) for _, part_correct, _ in parts)  # counts: exact in float32
        inliers = sum(float(part_inliers) for _, _, part_inliers in parts)
        return step_losses, correct, inliers, len(indices)

    def _train_steps_graph(self, batches):
        tf = self.tf
        model = self.model
        optimizer = model.optimizer
        variables = model.trainable_variables
        count = tf.shape(batches)[0]
        step_losses = tf.TensorArray(tf.float32, size=count)  # (count,) one loss sum per step
        correct = tf.constant(0.0)
        inliers = tf.constant(0.0)
        for index in tf.range(count):
            batch = batches[index]
            images = self._batch_images(batch)  # (size, 28, 28) float32 in [0, 1]
            labels = tf.gather(self.y, batch)
            with tf.GradientTape() as tape:
                probabilities = model(images, training=True)
                losses = _cross_entropy(tf, labels, probabilities)
                loss = tf.reduce_mean(losses)
                if model.losses:
                    loss += tf.add_n(model.losses)
            gradients = tape.gradient(loss, variables)
            if not _fused_update(tf, optimizer, gradients, variables):
                optimizer.apply_gradients(zip(gradients, variables, strict=True))
            step_losses = step_losses.write(index, tf.reduce_sum(losses))
            predicted = tf.argmax(probabilities, axis=1, output_type=tf.int32)
            correct += tf.reduce_sum(tf.cast(tf.equal(predicted, labels), tf.float32))
            inliers += tf.reduce_sum(tf.cast(labels < NUM_CLASSES, tf.float32))
        return step_losses.stack(), correct, inliers

    def _batch_images(self, batch):
        """The training images at `batch`'s indices, distorted here on the GPU path, scaled to [0, 1]."""
        tf = self.tf
        images = tf.gather(self.x, batch)  # (size, 28, 28) uint8
        if self.distortions is not None:
            images = augment_tf.distort(tf, images, tf.gather(self.distortions, batch))
        return _scaled(tf, images)

    def _evaluate_graph(self, images, labels):
        tf = self.tf
        probabilities = self.model(images, training=False)
        loss_sum = tf.reduce_sum(_cross_entropy(tf, labels, probabilities))
        predicted = tf.argmax(probabilities, axis=1, output_type=tf.int32)
        return loss_sum, tf.reduce_sum(tf.cast(tf.equal(predicted, labels), tf.float32))

    def validate(self) -> tuple[float, float]:
        """Validation loss and accuracy (dropout off)."""
        loss_sum = correct = 0.0
        count = int(self.x_val.shape[0])
        for start in range(0, count, VALIDATION_CHUNK):
            chunk = slice(start, start + VALIDATION_CHUNK)
            chunk_loss, chunk_correct = self._evaluate(self.x_val[chunk], self.y_val[chunk])
            loss_sum += float(chunk_loss)
            correct += float(chunk_correct)
        return loss_sum / count, correct / count


def _fused_update(tf, optimizer, gradients, variables) -> bool:
    """Apply plain Adam or SGD with TensorFlow's fused kernels; False where Keras must do it.

    Speed trick: Keras applies Adam as about a dozen element-wise ops per variable, each a pass over
    memory, which costs more than the matmuls of a small MLP. The fused kernels make one pass and
    compute the same update (same formula and epsilon) on the optimizer's own slot variables, so
    the saved optimizer state and `iterations` stay exactly as Keras keeps them.
    """
    import keras

    plain = not any(
        getattr(optimizer, name, None)
        for name in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema")
    )
    if not plain or any(v.dtype != "float32" for v in variables):
        return False
    kind = type(optimizer)
    learning_rate = tf.cast(optimizer._get_current_learning_rate(), tf.float32)
    if kind is keras.optimizers.Adam and not optimizer.amsgrad:
        step = tf.cast(optimizer.iterations + 1, tf.float32)
        beta_1_power = tf.pow(tf.constant(optimizer.beta_1, tf.float32), step)
        beta_2_power = tf.pow(tf.constant(optimizer.beta_2, tf.float32), step)
        for gradient, variable in zip(gradients, variables, strict=True):
            index = optimizer._get_variable_index(variable)
            tf.raw_ops.ResourceApplyAdam(
                var=variable.value.handle,
                m=optimizer._momentums[index].value.handle,
                v=optimizer._velocities[index].value.handle,
                beta1_power=beta_1_power, beta2_power=beta_2_power, lr=learning_rate,
                beta1=optimizer.beta_1, beta2=optimizer.beta_2, epsilon=optimizer.epsilon, grad=gradient,
            )  # fmt: skip
    elif kind is keras.optimizers.SGD and not optimizer.momentum and not optimizer.nesterov:
        for gradient, variable in zip(gradients, variables, strict=True):
            handle = variable.value.handle
            tf.raw_ops.ResourceApplyGradientDescent(var=handle, alpha=learning_rate, delta=gradient)
    else:
        return False
    optimizer.iterations.assign_add(1)
    return True


def _scaled(tf, images):
    """uint8 images as float32 in [0, 1], inside a compiled function: exactly value / 255 rounded
    to float32, the numbers an eager upload (`_Runner._upload`) gives.

    The division is done in float64 because the graph optimizer rewrites a float32 division by a
    constant as a multiplication by 1/255, which rounds 126 of the 256 values differently; a
    float64 quotient rounded to float32 is the correctly rounded float32 one (53 >= 2 * 24 + 2 bits).
    """
    return tf.cast(tf.cast(images, tf.float64) / 255.0, tf.float32)


def _cross_entropy(tf, labels, probabilities):
    """Per-example cross-entropy from softmax outputs, clipped as Keras does against log(0).

    For an OUTLIER label it is OUTLIER_WEIGHT times the cross-entropy to the uniform distribution
    (outlier exposure), which is smallest when every class gets 10%.
    """
    epsilon = 1e-7
    logs = tf.math.log(tf.clip_by_value(probabilities, epsilon, 1.0 - epsilon))  # (n, 10)
    is_outlier = labels >= NUM_CLASSES
    picked = tf.gather(logs, tf.minimum(labels, NUM_CLASSES - 1), axis=1, batch_dims=1)
    return tf.where(is_outlier, -OUTLIER_WEIGHT * tf.reduce_mean(logs, axis=1), -picked)
