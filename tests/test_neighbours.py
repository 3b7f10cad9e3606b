"""Nearest training images: exact against brute force, in pixels and in float activations, and compact."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_mlp import neighbours


@pytest.fixture(scope="module")
def pixel_index(digits):
    return neighbours.pixel_index(digits.x_train, digits.y_train)


def brute_force(vectors: np.ndarray, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    distances = np.sqrt(((vectors.astype(np.float64) - query) ** 2).sum(axis=1))
    order = np.argsort(distances, kind="stable")[:count]
    return order, distances[order]


def test_a_training_image_is_its_own_nearest_neighbour(pixel_index, digits):
    found = neighbours.nearest(pixel_index, neighbours.pixel_vectors(digits.x_train[123:124])[0], count=5)
    assert found.distances[0] == 0.0
    assert 123 in found.indices[found.distances == 0]
    assert found.labels[0] == digits.y_train[123]
    assert list(found.distances) == sorted(found.distances)


def test_pixel_neighbours_match_brute_force_exactly(pixel_index, digits):
    vectors = neighbours.pixel_vectors(digits.x_train)
    queries = neighbours.pixel_vectors(digits.x_test[:40])
    for query in queries:
        order, distances = brute_force(vectors, query, 8)
        found = neighbours.nearest(pixel_index, query, count=8)
        np.testing.assert_array_equal(found.indices, order)
        np.testing.assert_allclose(found.distances, distances, rtol=1e-5)
        np.testing.assert_array_equal(found.labels, digits.y_train[order])
    nearest = [brute_force(vectors, query, 1)[1][0] for query in queries]
    np.testing.assert_allclose(neighbours.nearest_distances(pixel_index, queries), nearest, rtol=1e-5)


def test_the_pixel_index_keeps_the_images_not_a_float_copy(pixel_index, digits):
    assert np.shares_memory(pixel_index.vectors, digits.x_train)
    assert pixel_index.projected.shape == (len(digits.x_train), neighbours.PROJECTION_DIMS)
    assert not pixel_index.vectors.flags.writeable and not pixel_index.projected.flags.writeable


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    rows=st.integers(1, 300),
    dimensions=st.integers(1, 100),
    count=st.integers(1, 12),
)
def test_float_neighbours_are_exact_for_the_stored_values(seed, rows, dimensions, count):
    """Any vectors, including duplicates and fewer rows or dimensions than the projection keeps."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(rows, dimensions)).astype(np.float32)
    vectors[rng.integers(0, rows, rows // 4)] = vectors[0]  # ties
    labels = rng.integers(0, 10, rows)
    index = neighbours.build_index(vectors, labels)
    stored = vectors.astype(np.float16).astype(np.float32)
    query = rng.normal(size=dimensions).astype(np.float32)
    found = neighbours.nearest(index, query, count)
    _, distances = brute_force(stored, query, min(count, rows))
    np.testing.assert_allclose(found.distances, distances, rtol=1e-5, atol=1e-6)
    assert len(found.indices) == min(count, rows) and len(set(found.indices)) == len(found.indices)
    np.testing.assert_array_equal(found.labels, labels[found.indices])


def test_bad_vectors_and_queries_are_refused(pixel_index):
    with pytest.raises(neighbours.NeighbourError, match="queries of length 784"):
        neighbours.nearest(pixel_index, np.zeros(64))
    with pytest.raises(neighbours.NeighbourError, match="finite queries"):
        neighbours.nearest(pixel_index, np.full(784, np.nan))
    with pytest.raises(neighbours.NeighbourError, match=r"shape \(n, 28, 28\)"):
        neighbours.pixel_vectors(np.zeros((28, 28)))
    with pytest.raises(neighbours.NeighbourError, match="uint8 images"):
        neighbours.pixel_index(np.zeros((3, 28, 28)), np.zeros(3))
    with pytest.raises(neighbours.NeighbourError, match=r"\(n, d\) vectors"):
        neighbours.build_index(np.zeros((3, 4)), np.zeros(2))
    with pytest.raises(neighbours.NeighbourError, match="finite vectors"):
        neighbours.build_index(np.array([[np.inf]]), np.zeros(1))


def test_values_beyond_float16_are_kept_exactly_and_the_search_ends():
    rng = np.random.default_rng(0)
    vectors = rng.random((500, 16)).astype(np.float32)
    vectors[:, 0] = 1e5  # past float16's 65504: a model with large activations
    index = neighbours.build_index(vectors, np.zeros(500))
    assert index.vectors.dtype == np.float32
    found = neighbours.nearest(index, vectors[3], 8)
    assert found.indices[0] == 3 and found.distances[0] == 0
    far = neighbours.nearest(index, np.full(16, 1e18, np.float32), 3)  # no bound beats inf: all measured
    assert len(far.indices) == 3
