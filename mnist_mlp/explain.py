"""Why a model reads an image as it does: saliency, and the hidden units behind the answer.

The features it computes (the last hidden layer) are what `neighbours` searches and `unsure` judges.

TensorFlow is imported inside the functions that need it; each model's function is traced once
(`model.compiled_function`, which lets a dropped model go).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mnist_mlp.model import IMAGE_SHAPE, NUM_CLASSES, compiled_function, run_in_chunks

if TYPE_CHECKING:
    import keras

IG_STEPS = 64  # integrated-gradients path steps: completeness within ~1% for the shipped models


class ExplainError(ValueError):
    """An image or model this module cannot explain; says what was received and what is needed."""


@dataclass(frozen=True, eq=False)
class Explanation:
    """Why the model gave `target` for one image. Logits are the output layer's pre-softmax values."""

    target: int  # the explained class: the predicted one unless another was asked for
    probabilities: np.ndarray  # (10,) float32 softmax
    logits: np.ndarray  # (10,) float32
    baseline_logit: float  # the target's logit for a black image (no ink), where attribution is 0
    attribution: np.ndarray  # (28, 28) integrated gradients; sums to logits[target] - baseline_logit
    gradient_x_input: np.ndarray  # (28, 28) the one-step version: d logit / d pixel * pixel
    unit_activations: np.ndarray  # (units,) first hidden layer; (0,) for a model without one
    unit_contributions: np.ndarray  # (units,) activation * d logit / d activation
    features: np.ndarray  # (d,) what the output layer reads: last hidden layer, or the pixels

    @property
    def completeness_gap(self) -> float:
        """Sum of attributions minus the logit change it should add up to; ~0 for enough steps."""
        return float(self.attribution.sum() - (self.logits[self.target] - self.baseline_logit))


@dataclass(frozen=True, eq=False)
class Units:
    """Hidden units ranked by contribution to one class's logit, largest first."""

    indices: np.ndarray  # (k,) int unit numbers in the first hidden layer
    activations: np.ndarray  # (k,) float32
    contributions: np.ndarray  # (k,) float32, in logit units


def top_units(explanation: Explanation, count: int = 8) -> Units:
    """The `count` first-layer units that raised the target's logit most (fewer if there are fewer)."""
    order = np.argsort(-explanation.unit_contributions, kind="stable")[: max(count, 0)]
    return Units(order, explanation.unit_activations[order], explanation.unit_contributions[order])


def explain(
    model: keras.Model, image: np.ndarray, target: int | None = None, steps: int = IG_STEPS
) -> Explanation:
    """Explain one image: (28, 28) uint8 0..255 or float in [0, 1], ink white on black.

    Attribution is integrated gradients of the target's logit from a black image (trapezoid rule
    over `steps` steps). A unit's contribution is its activation times the gradient of the
    target's logit with respect to it: exact (the logit is their sum plus the output bias) for
    one hidden layer, a first-order share for deeper models.
    """
    import tensorflow as tf

    pixels = _image(image)
    if target is not None and not (isinstance(target, int | np.integer) and 0 <= target < NUM_CLASSES):
        raise ExplainError(
            f"Expected target to be a class number in 0..9 or None. Received: target={target!r}"
        )
    if not (isinstance(steps, int) and 1 <= steps <= 1024):
        raise ExplainError(f"Expected steps to be an integer in 1..1024. Received: steps={steps!r}")
    function = compiled_function(model, ("explain", steps), lambda proxy: _explain_function(proxy, steps))
    values = function(tf.constant(pixels), tf.constant(-1 if target is None else int(target), tf.int32))
    values = {key: value.numpy() for key, value in values.items()}
    values["target"], values["baseline_logit"] = int(values["target"]), float(values["baseline_logit"])
    return Explanation(**values)


def features(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """What the output layer reads, (n, d) float32, for images (n, 28, 28) uint8 or float in [0, 1]."""
    return run_in_chunks(model, ("features",), _features_function, images, _chain(model).feature_size)


# ---- The compiled functions --------------------------------------------------------------------


@dataclass(frozen=True)
class _Chain:
    layers: tuple  # the model's layers in order, without its input layer
    output: int  # position of the output Dense layer, whose pre-activation values are the logits
    first_hidden_end: int | None  # position of the second Dense layer; None without hidden layers
    feature_size: int


def _chain(model: keras.Model) -> _Chain:
    """The model as a chain of layers ending in Dense (+ softmax), as every MLP here is."""
    from keras import layers as kl

    chain = tuple(layer for layer in model.layers if not isinstance(layer, kl.InputLayer))
    dense = [i for i, layer in enumerate(chain) if isinstance(layer, kl.Dense)]
    output = dense[-1] if dense else -1
    after = chain[output + 1 :]
    softmax_after = all(isinstance(layer, kl.Activation) for layer in after) and len(after) <= 1
    activation = getattr(chain[output], "activation", None) if dense else None
    name = getattr(activation, "__name__", "")
    if not dense or not softmax_after or name not in (("linear",) if after else ("softmax",)):
        raise ExplainError(
            f"Expected an MLP ending in a Dense layer with softmax. Received: the layers "
            f"{[type(layer).__name__ for layer in chain]}. Explanations need the logits before the softmax."
        )
    return _Chain(chain, output, dense[1] if len(dense) > 1 else None, int(chain[output].kernel.shape[0]))


def _forward(chain: _Chain, images, watch=None):
    """Logits (n, 10), first-hidden activations (n, units) or None, features (n, d)."""
    import tensorflow as tf

    x, hidden = images, None
    for position, layer in enumerate(chain.layers[: chain.output]):
        if position == chain.first_hidden_end:
            hidden = x
            if watch is not None:
                watch.watch(hidden)
        x = layer(x, training=False)
    if chain.output == chain.first_hidden_end:
        hidden = x
        if watch is not None:
            watch.watch(hidden)
    flat = tf.reshape(x, (tf.shape(x)[0], -1))
    dense = chain.layers[chain.output]
    logits = tf.matmul(flat, dense.kernel)
    if dense.use_bias:
        logits = logits + dense.bias
    return logits, hidden, flat


def _explain_function(model: keras.Model, steps: int):
    import tensorflow as tf

    chain = _chain(model)
    alphas = tf.reshape(tf.linspace(0.0, 1.0, steps + 1), (-1, 1, 1))  # (steps + 1, 1, 1)
    weights = (
        tf.concat([[0.5], tf.ones(steps - 1), [0.5]], 0) / steps if steps > 1 else tf.constant([0.5, 0.5])
    )

    def run(image, target):
        logits, hidden, flat = _forward(chain, image[None])
        target = tf.where(target < 0, tf.argmax(logits[0], output_type=tf.int32), target)
        path = alphas * image[None]  # (steps + 1, 28, 28) from black to the image
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(path)
            path_logits, path_hidden, _ = _forward(chain, path, watch=tape)
            chosen = path_logits[:, target]
        gradients = tape.gradient(chosen, path)  # (steps + 1, 28, 28)
        result = {
            "target": target,
            "probabilities": tf.nn.softmax(logits[0]),
            "logits": logits[0],
            "baseline_logit": path_logits[0, target],
            "attribution": image * tf.tensordot(weights, gradients, 1),
            "gradient_x_input": image * gradients[-1],
            "features": flat[0],
        }
        if path_hidden is None:
            result["unit_activations"] = result["unit_contributions"] = tf.zeros((0,), tf.float32)
        else:
            unit_gradients = tape.gradient(chosen, path_hidden)[-1]
            result["unit_activations"] = tf.reshape(path_hidden[-1], (-1,))
            result["unit_contributions"] = tf.reshape(path_hidden[-1] * unit_gradients, (-1,))
        del tape
        return result

    signature = [tf.TensorSpec(IMAGE_SHAPE, tf.float32), tf.TensorSpec((), tf.int32)]
    return tf.function(run, input_signature=signature, reduce_retracing=True)


def _features_function(model: keras.Model):
    import tensorflow as tf

    chain = _chain(model)
    signature = [tf.TensorSpec((None, *IMAGE_SHAPE), tf.float32)]
    return tf.function(lambda images: _forward(chain, images)[2], input_signature=signature)


def _image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.shape != IMAGE_SHAPE:
        raise ExplainError(
            f"Expected one (28, 28) image. Received: shape={image.shape}. Pass images[i], not a batch."
        )
    pixels = image.astype(np.float32) / 255 if image.dtype == np.uint8 else image.astype(np.float32)
    if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 1:
        raise ExplainError("Expected pixels in [0, 1] (or uint8 0..255). Received values outside, or NaN.")
    return pixels
