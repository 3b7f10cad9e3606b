"""Nearest training images for one drawing: the app's index against a flat float32 search, in one run.

    python -m benchmarks.neighbour_search [--dataset fashion_mnist] [--model fashion-mlp] [--count 300]

The Draw page searches the training set twice per stroke: by pixels and in the model's last hidden
layer. The baseline keeps every vector as float32 and reads all of them per query (one
matrix-vector product, then the best few re-measured); ours (`mnist_mlp.neighbours`) keeps the
images as they are, activations as float16, and ranks by PCA lower bounds. Both return the same
neighbours: the benchmark checks that before it reports.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from mnist_mlp import data, explain, neighbours, store

COUNT = 8  # neighbours shown per kind on the Draw page


def flat_nearest(vectors: np.ndarray, squared_norms: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The baseline: the COUNT nearest rows of float32 `vectors`, by a full pass over them."""
    scores = squared_norms - 2 * (vectors @ query)
    candidates = np.argpartition(scores, 4 * COUNT)[: 4 * COUNT]
    exact = ((vectors[candidates] - query) ** 2).sum(axis=1)
    return candidates[np.lexsort((candidates, exact))[:COUNT]]


def timed(search, queries: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Milliseconds per query after one warm-up, and each query's answer."""
    search(queries[0])
    times, answers = [], []
    for query in queries:
        started = time.perf_counter()
        answers.append(search(query))
        times.append((time.perf_counter() - started) * 1000)
    return np.array(times), answers


def compare(space: str, flat: np.ndarray, index: neighbours.NeighbourIndex, queries: np.ndarray) -> None:
    norms = np.einsum("ij,ij->i", flat, flat)
    base, base_answers = timed(lambda q: flat_nearest(flat, norms, q), queries)
    ours, our_answers = timed(lambda q: neighbours.nearest(index, q, COUNT).indices, queries)
    same = np.mean([len(set(a) & set(b)) / COUNT for a, b in zip(base_answers, our_answers, strict=True)])
    own = index.projected.nbytes + index.projected_norms.nbytes + index.axes.nbytes
    own += 0 if space == "pixels" else index.vectors.nbytes  # pixels: a view of the loaded images
    base_bytes = flat.nbytes + norms.nbytes
    for name, values, size in (("flat float32 (baseline)", base, base_bytes), ("ours", ours, own)):
        print(
            f"| {space} | {name} | {np.median(values):.2f} | {np.percentile(values, 99):.2f} "
            f"| {size / 2**20:.0f} |"
        )
    print(
        f"| {space} | ratio | {np.median(base) / np.median(ours):.1f}x faster | "
        f"{np.percentile(base, 99) / np.percentile(ours, 99):.1f}x | {base_bytes / own:.1f}x smaller |"
    )
    print(f"| {space} | same neighbours | {same:.1%} of them | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist", choices=data.DATASETS)
    parser.add_argument("--model", default="fashion-mlp")
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    images = data.load(args.dataset, allow_download=False)
    keras_model = store.load(args.model).model
    queries = images.x_test[: args.count]
    print(
        f"{len(images.x_train):,} training images ({images.source}); model {args.model}; "
        f"{len(queries)} test images as queries, {COUNT} neighbours each\n"
    )
    print("| space | search | median (ms) | p99 (ms) | memory (MiB) |")
    print("| --- | --- | ---: | ---: | ---: |")
    pixels = neighbours.pixel_vectors(images.x_train)
    compare(
        "pixels",
        pixels,
        neighbours.pixel_index(images.x_train, images.y_train),
        neighbours.pixel_vectors(queries),
    )
    features = explain.features(keras_model, images.x_train)
    stored = features.astype(np.float16).astype(np.float32)  # the values ours searches, for a like test
    compare(
        "hidden layer",
        stored,
        neighbours.build_index(features, images.y_train),
        explain.features(keras_model, queries),
    )


if __name__ == "__main__":
    main()
