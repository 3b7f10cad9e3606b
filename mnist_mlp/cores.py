"""Work that is pure Python and numpy, spread over every core in worker processes.

Workers are spawned, so none inherits TensorFlow's threads; a program that starts them must be
importable again (`if __name__ == "__main__":`), or the work is done in the calling process.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any


def count() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def on_every_core(function: Callable[..., Any], jobs: Sequence[tuple], what: str) -> Iterator[Any]:
    """`function(*job)` of each job, in order, from worker processes on every core (here, in turn,
    for one job or one core). `function` must be a module-level function; each job should carry its
    own seed, so that the results do not depend on who computes them. `what` names the work in
    the warning given when no worker could start."""
    workers = min(count(), len(jobs))
    if workers < 2:
        yield from (function(*job) for job in jobs)
        return
    pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    done = 0
    try:
        futures = [pool.submit(function, *job) for job in jobs]
        for index, future in enumerate(futures):
            futures[index] = None  # memory: each result is the caller's to keep once it is handed over
            yield future.result()
            done += 1
    except concurrent.futures.process.BrokenProcessPool:
        if done:  # a worker died part-way (out of memory, say): that is an error, not a set-up
            raise
        # Workers cannot start where the main program cannot be imported again (read from stdin,
        # say): all is done here, with the same results, as each job has its own seed.
        warnings.warn(f"{what}: no worker process could start; drawing them in this process", stacklevel=2)
        yield from (function(*job) for job in jobs)
    finally:
        pool.shutdown(cancel_futures=True)
