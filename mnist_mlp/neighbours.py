"""The training images nearest to an image: exact Euclidean search that is light enough to run on
every canvas stroke against 60,000 images, in pixels or in a model's hidden layer.

A flat search reads every vector per query (188 MB of float32 pixels for full MNIST). Instead the
index keeps the vectors compact (pixels as the uint8 images themselves, activations as float16) plus
a PCA projection of each to a few dozen dimensions. Projecting onto orthonormal axes never lengthens
a difference, so projected distances are lower bounds of true ones: the search ranks by the bounds
and measures full distances only until no bound left can beat the k-th best, so results stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mnist_mlp.model import image_batch

PROJECTION_DIMS = 64  # principal axes kept for the lower bounds (n x 64 float32: 15 MB for 60,000)
PCA_SAMPLE = 10_000  # rows the axes are fitted on: any orthonormal axes keep the bounds valid
FIRST_POOL = 128  # candidates measured fully at first; 4x more each time until the bounds prove it
QUERY_CHUNK = 128  # queries whose bounds are computed in one matrix product
ROUNDING = 1e-5  # share of a bound's terms taken off it for float32 rounding, so it never overshoots


class NeighbourError(ValueError):
    """Vectors or queries that cannot be searched, with what was expected."""


@dataclass(frozen=True, eq=False)
class NeighbourIndex:
    """Vectors to search by Euclidean distance; build with `build_index`. Read-only: shared by sessions."""

    vectors: np.ndarray = field(repr=False)  # (n, d) uint8 pixels (times `scale`) or float16
    scale: float  # multiplies `vectors` to give the searched values
    mean: np.ndarray = field(repr=False)  # (d,) float32, the centre of the projection
    axes: np.ndarray = field(repr=False)  # (d, p) float32, orthonormal columns
    projected: np.ndarray = field(repr=False)  # (n, p) float32, (vectors * scale - mean) @ axes
    projected_norms: np.ndarray = field(repr=False)  # (n,) float32, squared lengths of `projected`
    labels: np.ndarray = field(repr=False)  # (n,) class of each vector

    @property
    def dimensions(self) -> int:
        return self.vectors.shape[1]

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Some indexed vectors, as (k, d) float32 values."""
        return self.vectors[indices].astype(np.float32) * np.float32(self.scale)


@dataclass(frozen=True, eq=False)
class Neighbours:
    indices: np.ndarray  # (k,) rows of the index, nearest first
    distances: np.ndarray  # (k,) float32 Euclidean distances
    labels: np.ndarray  # (k,)


def pixel_vectors(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) uint8 or float in [0, 1] as (n, 784) float32 in [0, 1]: queries for a pixel index."""
    images = _images(images)
    vectors = images.reshape(len(images), -1).astype(np.float32)  # a new array
    if images.dtype == np.uint8:
        vectors *= np.float32(1 / 255)
    return vectors


def pixel_index(images: np.ndarray, labels: np.ndarray) -> NeighbourIndex:
    """An index over (n, 28, 28) uint8 images that keeps a view of them, not a float copy."""
    images = _images(images)
    if images.dtype != np.uint8:
        raise NeighbourError(f"Expected uint8 images. Received: dtype={images.dtype}. Use build_index.")
    return _build(images.reshape(len(images), -1), 1 / 255, labels)


def build_index(vectors: np.ndarray, labels: np.ndarray) -> NeighbourIndex:
    """An index over (n, d) float vectors (say a hidden layer's activations), kept as float16.

    float16 keeps about three significant digits: distances are exact for the stored values and
    within ~0.1% of those of the float32 originals.
    """
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or not np.isfinite(vectors).all():
        raise NeighbourError(f"Expected (n, d) finite vectors. Received: shape={vectors.shape}.")
    with np.errstate(over="ignore"):
        compact = vectors.astype(np.float16)
    if not np.isfinite(compact).all():  # beyond float16's 65504: keep full precision instead
        compact = vectors.astype(np.float32)
    return _build(compact, 1.0, labels)


def nearest(index: NeighbourIndex, query: np.ndarray, count: int = 8) -> Neighbours:
    """The `count` indexed vectors nearest to one (d,) query, nearest first (ties: lower row first)."""
    query = _queries(index, query)[0]
    count = min(max(int(count), 1), len(index.labels))
    bounds = _lower_bounds(index, query[None])[0]  # (n,) squared
    measured = np.zeros(len(bounds), bool)
    chosen, squared = np.zeros(0, np.int64), np.zeros(0, np.float32)
    pool = min(max(FIRST_POOL, 4 * count), len(bounds))
    while True:
        candidates = np.argpartition(bounds, pool - 1)[:pool] if pool < len(bounds) else np.arange(pool)
        fresh = candidates[~measured[candidates]]
        measured[fresh] = True
        chosen = np.concatenate([chosen, fresh])
        squared = np.concatenate([squared, ((index.rows(fresh) - query) ** 2).sum(axis=1)])
        best = np.lexsort((chosen, squared))[:count]
        chosen, squared = chosen[best], squared[best]
        unseen_bound = bounds[candidates].max() if pool < len(bounds) else np.inf  # the rest are >= it
        if squared[-1] < unseen_bound or pool == len(bounds):  # nothing unmeasured can be as near
            break
        pool = min(4 * pool, len(bounds))
    return Neighbours(chosen, np.sqrt(squared).astype(np.float32), index.labels[chosen])


def nearest_distances(index: NeighbourIndex, queries: np.ndarray) -> np.ndarray:
    """(m,) distance from each of (m, d) queries to its nearest indexed vector.

    For many queries at once (calibrating the "unsure" warning on a test set): the bounds come from
    one matrix product per chunk, and only rows whose bound beats the best-bound row's true
    distance are measured.
    """
    queries = _queries(index, queries)
    result = np.empty(len(queries), np.float32)
    for start in range(0, len(queries), QUERY_CHUNK):
        chunk = queries[start : start + QUERY_CHUNK]
        for row, (query, bounds) in enumerate(zip(chunk, _lower_bounds(index, chunk), strict=True)):
            first = int(np.argmin(bounds))
            best = float(((index.rows(np.array([first])) - query) ** 2).sum())
            rivals = np.flatnonzero(bounds < best)
            if len(rivals):
                best = min(best, float(((index.rows(rivals) - query) ** 2).sum(axis=1).min()))
            result[start + row] = np.sqrt(best)
    return result


def _build(vectors: np.ndarray, scale: float, labels: np.ndarray) -> NeighbourIndex:
    labels = np.asarray(labels)
    if len(vectors) == 0 or labels.shape != (len(vectors),):
        raise NeighbourError(
            f"Expected (n, d) vectors with n > 0 and (n,) labels. Received: vectors {vectors.shape}, "
            f"labels {labels.shape}."
        )
    sample = vectors[np.random.default_rng(0).permutation(len(vectors))[:PCA_SAMPLE]]
    sample = sample.astype(np.float32) * np.float32(scale)
    mean = sample.mean(axis=0)
    centred = sample - mean
    _, eigenvectors = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
    axes = np.ascontiguousarray(eigenvectors[:, ::-1][:, :PROJECTION_DIMS], dtype=np.float32)
    projected = np.empty((len(vectors), axes.shape[1]), np.float32)
    for start in range(0, len(vectors), 8192):  # a float32 copy of 8,192 rows at a time, not all
        rows = vectors[start : start + 8192].astype(np.float32) * np.float32(scale)
        projected[start : start + len(rows)] = (rows - mean) @ axes
    norms = np.einsum("ij,ij->i", projected, projected)
    vectors = vectors.view()  # flags are set on views, so the caller's arrays stay as they were
    labels = labels.view()
    for array in (vectors, labels, projected, norms, mean, axes):
        array.setflags(write=False)  # shared by every session when cached
    return NeighbourIndex(vectors, scale, mean, axes, projected, norms, labels)


def _lower_bounds(index: NeighbourIndex, queries: np.ndarray) -> np.ndarray:
    """(m, n) squared projected distances to (m, d) queries, never above the true squared distances.

    |a|^2 - 2 a.b + |b|^2 is rounded in float32 to within a few parts in 10^7 of its larger terms;
    taking 10^-5 of them off keeps every bound below the truth.
    """
    points = (queries - index.mean) @ index.axes  # (m, p)
    point_norms = np.einsum("ij,ij->i", points, points)[:, None]  # (m, 1)
    squared = index.projected_norms - 2 * (points @ index.projected.T) + point_norms
    return np.maximum(squared - ROUNDING * (index.projected_norms + point_norms), 0)


def _images(images: np.ndarray) -> np.ndarray:
    try:
        return image_batch(images)
    except ValueError as err:
        raise NeighbourError(str(err)) from err


def _queries(index: NeighbourIndex, queries: np.ndarray) -> np.ndarray:
    queries = np.asarray(queries, np.float32)
    queries = queries[None] if queries.ndim == 1 else queries
    if queries.ndim != 2 or queries.shape[1] != index.dimensions or not np.isfinite(queries).all():
        raise NeighbourError(
            f"Expected finite queries of length {index.dimensions}, the index's. "
            f"Received: shape={np.shape(queries)}. Search pixels in a pixel index, features in a feature one."
        )
    return queries
