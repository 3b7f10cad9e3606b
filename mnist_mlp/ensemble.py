"""Several MLPs joined into one plain, wider MLP whose logits are the average of theirs.

Averaging the logits of N networks of the same depth is itself an MLP: the first hidden layers' units
side by side (each sees the whole image), every later hidden layer block-diagonal (a member's units
see only that member's units), and the output layer's weights stacked and divided by N. So an
ensemble is one model to everything else (the weights, Why, nearest neighbours, export, fine-tuning,
the Unsure verdict): a chain of Dense layers, as every model here is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mnist_mlp import model

if TYPE_CHECKING:
    import keras


class EnsembleError(ValueError):
    """The networks cannot be joined: not MLPs, or of different depth or activation."""


def joined_config(configs: Sequence[model.MLPConfig]) -> model.MLPConfig:
    """The config of the joined model: the members' widths added layer by layer; the training
    settings are the first member's (they describe how it was trained, the others say their own)."""
    if len(configs) < 2:
        raise EnsembleError(f"Joining needs at least two networks. Received: {len(configs)}.")
    depths = {len(config.hidden_units) for config in configs}
    activations = {config.activation for config in configs}
    if len(depths) > 1 or 0 in depths:
        raise EnsembleError(
            "Only networks with the same number of hidden layers (at least one) can be joined. "
            f"Received: {', '.join(config.architecture for config in configs)}."
        )
    if len(activations) > 1:
        raise EnsembleError(f"The networks must share one activation. Received: {sorted(activations)}.")
    widths = tuple(sum(layer) for layer in zip(*(config.hidden_units for config in configs), strict=True))
    return configs[0].replace(hidden_units=widths)


def join(members: Sequence[keras.Model], configs: Sequence[model.MLPConfig]) -> keras.Model:
    """One MLP whose logits (and so its probabilities) are the members' average logits.

    Args:
        members: trained MLPs as `model.build_model` makes them, (n, 28, 28) -> (n, 10).
        configs: each member's config, in the same order.
    Returns:
        A new Keras model built by `model.build_model(joined_config(configs))` with joined weights,
        compiled with a fresh optimizer of the first member's kind.
    Raises:
        EnsembleError: fewer than two networks, or networks of different depth or activation.
    """
    config = joined_config(configs)
    kernels = [dense_weights(member) for member in members]  # per member: [(kernel, bias), ...]
    joined = model.build_model(config)
    layers = [layer for layer in joined.layers if hasattr(layer, "kernel")]
    count = len(members)
    for depth, layer in enumerate(layers):
        parts = [member[depth] for member in kernels]
        if depth == 0:  # every member reads the whole image
            kernel = np.concatenate([k for k, _ in parts], axis=1)
            bias = np.concatenate([b for _, b in parts])
        elif depth < len(layers) - 1:  # each member's units read only their own member's
            kernel = _block_diagonal([k for k, _ in parts])
            bias = np.concatenate([b for _, b in parts])
        else:  # the output: the average of the members' logits
            kernel = np.concatenate([k for k, _ in parts], axis=0) / count
            bias = np.mean([b for _, b in parts], axis=0)
        layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    # Compiled as a trained model is, so it can be fine-tuned and continued like one: the first
    # member's kind of optimizer at its learning rate, from step 0. Not built: its moments, all zero,
    # would triple the saved file (92 MB at 784-2400-2400-10); training builds them when it starts.
    optimizer = model.make_optimizer(config.replace(learning_rate_decay="none"))
    joined.compile(optimizer=optimizer, loss=model.LOSS)
    return joined


def dense_weights(network: keras.Model) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of each Dense layer in order, as float32 arrays."""
    dense = [layer for layer in network.layers if hasattr(layer, "kernel")]
    if not dense or any(not getattr(layer, "use_bias", False) for layer in dense):
        raise EnsembleError(f"{network.name}: expected an MLP of Dense layers with biases.")
    return [(np.asarray(layer.kernel.numpy(), np.float32), np.asarray(layer.bias.numpy(), np.float32))
            for layer in dense]  # fmt: skip


def joined_snapshots(snapshots: Sequence[dict[int, np.ndarray]]) -> dict[int, np.ndarray]:
    """The first-layer weight snapshots at the steps every member has, the members' units side by
    side: step -> (units, 28, 28), in the joined model's unit order."""
    steps = sorted(set.intersection(*(set(member) for member in snapshots))) if snapshots else []
    return {step: np.concatenate([member[step] for member in snapshots]) for step in steps}


def _block_diagonal(blocks: Sequence[np.ndarray]) -> np.ndarray:
    rows, columns = sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)
    result = np.zeros((rows, columns), np.float32)
    row = column = 0
    for block in blocks:
        result[row : row + block.shape[0], column : column + block.shape[1]] = block
        row, column = row + block.shape[0], column + block.shape[1]
    return result
