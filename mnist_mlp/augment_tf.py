"""The distortions of `augment` as TensorFlow ops, for a training step on a GPU: the images never
leave the device, and the step reads each batch through its own drawn distortion.

The CPU path (`augment.distort`) and this one apply the same numbers (`augment.draw`) the same way
(bilinear reads of a padded image at `augment.source_coordinates`), so they give the same images up
to float rounding.
"""

from __future__ import annotations

from mnist_mlp import augment


def gpu_visible() -> bool:
    """Whether TensorFlow sees a GPU, where `train` distorts inside the training step."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def distort(tf, images, coefficients):
    """Images read at their distortions' source coordinates, inside a compiled function.

    Args:
        images: (b, H, W) uint8 tensor, ink white on black.
        coefficients: (b, 2, k, k) float32 tensor: those images' rows of `augment.draw`.

    Returns:
        (b, H, W) uint8 tensor: what `augment.warp` gives for the same arguments (a pixel may differ
        by one level where float rounding differs).
    """
    height, width = images.shape[1], images.shape[2]
    rows, columns = (tf.constant(basis) for basis in augment._basis(height, width))
    pad = augment.PADDING
    padded_height, padded_width = height + 2 * pad, width + 2 * pad
    coordinates = tf.matmul(tf.matmul(rows, coefficients), columns, transpose_b=True) + pad  # (b, 2, H, W)
    row = tf.clip_by_value(coordinates[:, 0], 0.0, padded_height - 2.0)
    col = tf.clip_by_value(coordinates[:, 1], 0.0, padded_width - 2.0)
    top, left = tf.floor(row), tf.floor(col)
    row_weight, col_weight = row - top, col - left
    count = tf.shape(images)[0]
    offsets = tf.reshape(tf.range(count) * (padded_height * padded_width), (-1, 1, 1))
    index = tf.cast(top, tf.int32) * padded_width + tf.cast(left, tf.int32) + offsets  # (b, H, W)
    flat = tf.reshape(tf.pad(tf.cast(images, tf.float32), [[0, 0], [pad, pad], [pad, pad]]), (-1,))

    def read(shift):
        return tf.gather(flat, index + shift)

    upper = read(0) + col_weight * (read(1) - read(0))
    lower = read(padded_width) + col_weight * (read(padded_width + 1) - read(padded_width))
    mixed = upper + row_weight * (lower - upper)
    return tf.cast(tf.floor(mixed + 0.5), tf.uint8)
