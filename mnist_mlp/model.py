"""The MLP: one frozen config dataclass, the named presets, and the Keras model they build.

Keras is imported inside the functions that need it, so reading a config or a preset is free.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import random
import threading
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu", "selu")
OPTIMIZERS = ("adam", "sgd", "adagrad", "rmsprop")
LEARNING_RATE_DECAYS = ("none", "cosine")
MAX_PEN_STROKES = 8  # pen-stroke renders per digit: more adds time, not variety
LOSS = "sparse_categorical_crossentropy"  # what every model here is trained on: integer labels
MIN_OUTLIERS, MAX_OUTLIERS = 10, 60_000  # images of no class for outlier exposure, when on


@dataclass(frozen=True)
class MLPConfig:
    """Everything that defines a model and how it is trained; saved beside the weights."""

    hidden_units: tuple[int, ...] = (512,)  # one entry per hidden layer; () is softmax regression
    activation: str = "relu"  # hidden-layer activation, one of ACTIVATIONS
    dropout_rate: float = 0.2  # after each hidden layer; 0 turns it off
    optimizer: str = "adam"  # one of OPTIMIZERS
    learning_rate: float = 1e-3
    # "cosine": each run of `epochs` epochs is one cosine cycle from learning_rate down to 0;
    # continuing a model starts a new cycle at its first step (a warm restart)
    learning_rate_decay: str = "none"
    l2: float = 0.0  # weight decay on every kernel; 0 turns it off
    batch_size: int = 128
    epochs: int = 4
    augment: bool = False  # random shifts, rotations, scaling and elastic distortion each epoch
    mirror: bool = False  # mirror a random half of the images left-right each epoch: clothing, not digits
    # digits as people draw them: this many pen-stroke renders (pen.py) of each training and
    # validation digit join the originals; 0 is off. Costs ~6 ms a render before training starts
    pen_strokes: int = 0
    # outlier exposure: this many images of no class (scribbles, shapes and the other dataset's
    # images, foreign.py) join training, each taught to get an even 10% on every class, so the
    # Unsure verdict catches what is not of the dataset's kind; 0 is off
    outliers: int = 0
    seed: int = 0  # weights, dropout, shuffling and augmentation all follow it

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_units", tuple(int(u) for u in self.hidden_units))
        _check(
            all(u > 0 for u in self.hidden_units),
            "hidden_units",
            self.hidden_units,
            "positive integers (one per hidden layer), e.g. (512,) or () for none",
        )
        _check(self.activation in ACTIVATIONS, "activation", self.activation, f"one of {ACTIVATIONS}")
        _check(0 <= self.dropout_rate < 1, "dropout_rate", self.dropout_rate, "a number in [0, 1)")
        _check(self.optimizer in OPTIMIZERS, "optimizer", self.optimizer, f"one of {OPTIMIZERS}")
        _check(0 < self.learning_rate <= 10, "learning_rate", self.learning_rate, "in (0, 10]")
        _check(
            self.learning_rate_decay in LEARNING_RATE_DECAYS,
            "learning_rate_decay",
            self.learning_rate_decay,
            f"one of {LEARNING_RATE_DECAYS}",
        )
        _check(0 <= self.l2 <= 1, "l2", self.l2, "a number in [0, 1]")
        _check(1 <= self.batch_size <= 65536, "batch_size", self.batch_size, "in 1..65536")
        _check(1 <= self.epochs <= 10000, "epochs", self.epochs, "in 1..10000")
        _check(0 <= self.seed < 2**31, "seed", self.seed, "in 0..2**31-1")
        _check(
            0 <= self.pen_strokes <= MAX_PEN_STROKES,
            "pen_strokes",
            self.pen_strokes,
            f"renders per digit in 0..{MAX_PEN_STROKES}",
        )
        _check(
            self.outliers == 0 or MIN_OUTLIERS <= self.outliers <= MAX_OUTLIERS,
            "outliers",
            self.outliers,
            f"0 (off) or {MIN_OUTLIERS}..{MAX_OUTLIERS}",
        )

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Input, hidden and output widths, e.g. (784, 512, 10)."""
        return (IMAGE_SHAPE[0] * IMAGE_SHAPE[1], *self.hidden_units, NUM_CLASSES)

    @property
    def architecture(self) -> str:
        """The usual short name, e.g. '784-512-10'."""
        return "-".join(str(size) for size in self.layer_sizes)

    @property
    def parameter_count(self) -> int:
        """Weights and biases of all dense layers."""
        sizes = self.layer_sizes
        return sum(fan_in * fan_out + fan_out for fan_in, fan_out in itertools.pairwise(sizes))

    @property
    def flops_per_image(self) -> int:
        """Multiply-adds of one forward pass, counted as 2 FLOPs each."""
        sizes = self.layer_sizes
        return sum(2 * fan_in * fan_out for fan_in, fan_out in itertools.pairwise(sizes))

    def replace(self, **changes: Any) -> MLPConfig:
        """A copy with some fields changed (and checked again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        values = dataclasses.asdict(self)
        values["hidden_units"] = list(self.hidden_units)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MLPConfig:
        """The inverse of `to_dict`; unknown keys are refused rather than dropped."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown MLPConfig fields: {unknown}. Expected some of {sorted(known)}.")
        return cls(**values)


def _check(ok: bool, name: str, value: object, expected: str) -> None:
    if not ok:
        raise ValueError(
            f"Received an invalid value for {name}, expected {expected}. Received: {name}={value!r}"
        )


# The classic set-ups from tutorials and papers, so results can be compared with published figures.
PRESETS: dict[str, MLPConfig] = {
    "softmax": MLPConfig(hidden_units=(), dropout_rate=0.0, epochs=10),
    "784-20-10": MLPConfig(hidden_units=(20,), dropout_rate=0.0, batch_size=32, epochs=10),
    "784-50-50-10": MLPConfig(hidden_units=(50, 50), dropout_rate=0.2, epochs=10),
    "784-100-100-10": MLPConfig(hidden_units=(100, 100), dropout_rate=0.0, epochs=10),
    "784-512-10": MLPConfig(hidden_units=(512,), dropout_rate=0.2, epochs=4),
    "784-700-500-10": MLPConfig(hidden_units=(700, 500), dropout_rate=0.2, epochs=4),
}
DEFAULT_PRESET = "784-512-10"


def preset(name: str) -> MLPConfig:
    """The named preset's config; a clear error lists the names."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Expected one of: {', '.join(PRESETS)}.")
    return PRESETS[name]


def build_model(config: MLPConfig) -> keras.Model:
    """A compiled-free Keras MLP: (batch, 28, 28) float32 in [0, 1] -> (batch, 10) softmax.

    The same seed gives the same initial weights, in any thread and whatever other threads do:
    every kernel initializer gets its own seed (`layer_seeds`), the dropout after hidden layer i
    seed + i (as before), and no global random state is read or set.
    """
    import keras
    from keras import layers

    seeds = layer_seeds(config.seed, len(config.hidden_units) + 1)
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for index, units in enumerate(config.hidden_units, start=1):
        x = layers.Dense(
            units,
            activation=config.activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seeds[index - 1]),
            kernel_regularizer=regularizer,
            name=f"hidden_{index}",
        )(x)
        if config.dropout_rate > 0:
            x = layers.Dropout(config.dropout_rate, seed=config.seed + index, name=f"dropout_{index}")(x)
    outputs = layers.Dense(
        NUM_CLASSES,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seeds[-1]),
        kernel_regularizer=regularizer,
        name="probabilities",
    )(x)
    return keras.Model(inputs, outputs, name="mlp_" + config.architecture.replace("-", "_"))


def layer_seeds(seed: int, count: int) -> list[int]:
    """The kernel initializers' seeds, one per dense layer in order, derived from the config's seed.

    They are the numbers Keras drew for unseeded initializers after `keras.utils.set_random_seed(seed)`
    (Python's Mersenne Twister, `randint(1, 10**9)` a layer), which is how models were built before
    each layer had its own seed: the same config still gives the same weights as then. A private
    `random.Random` draws them, so the global generator is neither read nor moved.
    """
    generator = random.Random(seed)
    return [generator.randint(1, int(1e9)) for _ in range(count)]


def make_optimizer(
    config: MLPConfig, total_steps: int | None = None, start_step: int = 0
) -> keras.optimizers.Optimizer:
    """The optimizer the config names, at its learning rate or on its learning-rate schedule.

    Args:
        total_steps: optimizer steps in one run of `config.epochs` epochs; needed for "cosine",
            whose cycle spans them (a continued run starts a new cycle: see `start_step`).
    """
    import keras

    classes = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "adagrad": keras.optimizers.Adagrad,
        "rmsprop": keras.optimizers.RMSprop,
    }
    return classes[config.optimizer](learning_rate=learning_rate(config, total_steps, start_step=start_step))


def learning_rate(
    config: MLPConfig, total_steps: int | None = None, *, as_schedule: bool = False, start_step: int = 0
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The config's learning rate: a number, or a schedule for "cosine" (see `make_optimizer`).

    Args:
        as_schedule: give a constant rate as a schedule too, for an optimizer built with one,
            whose rate Keras lets us replace only by another schedule.
        start_step: the optimizer step the run starts at (a continued model's count so far).
    """
    import keras

    if config.learning_rate_decay == "cosine":
        if total_steps is None or total_steps < 1:
            raise ValueError(
                "A cosine learning-rate decay needs the run's length in optimizer steps. "
                f"Received: total_steps={total_steps!r}. Pass epochs * batches per epoch."
            )
        if start_step > 0:  # the cycle must start at this run's first step, not at step 0:
            # a "warm-up" from the rate to itself holds it until then, then the cosine begins
            return keras.optimizers.schedules.CosineDecay(
                config.learning_rate, decay_steps=total_steps, alpha=0.0,
                warmup_target=config.learning_rate, warmup_steps=start_step,
            )  # fmt: skip
        return keras.optimizers.schedules.CosineDecayRestarts(
            config.learning_rate, first_decay_steps=total_steps, t_mul=1.0, m_mul=1.0, alpha=0.0
        )
    if as_schedule:  # a decay rate of 1 keeps the rate constant, and it saves like any schedule
        return keras.optimizers.schedules.ExponentialDecay(config.learning_rate, 1, decay_rate=1.0)
    return config.learning_rate


def first_layer_weights(model: keras.Model) -> np.ndarray:
    """The first dense layer's kernel as images: (units, 28, 28) float32.

    For softmax regression that layer is the output, so the images are the 10 class templates.
    """
    dense = next(layer for layer in model.layers if hasattr(layer, "kernel"))
    kernel = np.asarray(dense.kernel.numpy(), dtype=np.float32)  # (784, units)
    return kernel.T.reshape(-1, *IMAGE_SHAPE)


PREDICT_CHUNK = 8192  # images per call: large enough to amortise the call, small enough for memory

# model -> {key: traced function}. Memory: the model is held weakly here, and each function reaches
# it only through a weak proxy (see `compiled_function`), so a dropped model and its functions go.
_compiled_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_compiled_lock = threading.Lock()


def compiled_function(model: keras.Model, key: Hashable, make: Callable[[keras.Model], Callable]) -> Callable:
    """One traced function per model and key, made on first use, reused, and dropped with the model.

    Speed: tracing costs ~100 ms, a call of the traced function < 1 ms, so every caller that runs a
    model often (predict, explain, features) shares this one cache.

    Args:
        key: what the function computes, e.g. ("predict",) or ("explain", 64).
        make: builds the function from the model. It is given a `weakref.proxy` of the model, not
            the model: a function that held the model would keep it, and every model ever used, alive
            through this cache's values. It may keep the model's layers, which do not hold the model.
    """
    import tensorflow as tf

    with _compiled_lock:
        functions = _compiled_functions.setdefault(model, {})
        if key not in functions:
            _quiet_retracing_warning(tf)
            functions[key] = make(weakref.proxy(model))
        return functions[key]


def image_batch(images: np.ndarray) -> np.ndarray:
    """`images` as an array, once it is checked to be a batch of 28x28 images (n, 28, 28)."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"Expected images of shape (n, 28, 28). Received: shape={images.shape}. "
            "Pass a batch; for one image use image[None]."
        )
    return images


def predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Class probabilities (n, 10) float32 for images (n, 28, 28): uint8 0..255 or float in [0, 1].

    One compiled function per model is made on first use and reused (`compiled_function`), because
    `model.predict` rebuilds its machinery each call: ~100 ms for one drawing instead of < 1 ms.
    """
    return run_in_chunks(model, ("predict",), _predict_function, images, NUM_CLASSES)


def run_in_chunks(
    model: keras.Model, key: Hashable, make: Callable[[keras.Model], Callable], images: np.ndarray, width: int
) -> np.ndarray:
    """The compiled function `key` (see `compiled_function`) over images (n, 28, 28), uint8 0..255 or
    float in [0, 1], PREDICT_CHUNK at a time: its (n, width) float32 outputs, one row per image."""
    import tensorflow as tf

    images = image_batch(images)
    scale = 1 / 255 if images.dtype == np.uint8 else 1.0
    function = compiled_function(model, key, make)
    chunks = [
        function(tf.constant(images[start : start + PREDICT_CHUNK], tf.float32) * scale).numpy()
        for start in range(0, len(images), PREDICT_CHUNK)
    ]
    return np.concatenate(chunks) if chunks else np.zeros((0, width), np.float32)


def _predict_function(model: keras.Model) -> Callable:
    import tensorflow as tf

    return tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec((None, *IMAGE_SHAPE), tf.float32)],
    )


def _quiet_retracing_warning(tf) -> None:
    """Silence TensorFlow's "triggered tf.function retracing" warning for our compiled functions.

    Each model gets its own compiled functions (`compiled_function`), each traced once; TensorFlow
    counts the traces of all of them together and warns after five models, which is expected here
    and not a problem.
    """
    logger = tf.get_logger()
    if not any(isinstance(f, _RetracingFilter) for f in logger.filters):
        logger.addFilter(_RetracingFilter())


class _RetracingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()
