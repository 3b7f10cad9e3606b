"""`python -m benchmarks`: every benchmark in turn, each printing its Markdown table.

Each one measures its baseline in the same run, so the ratios hold on a noisy, shared machine.
Run one alone with `python -m benchmarks.<name>`.
"""

import platform
import subprocess
import sys

BENCHMARKS = (
    "training_speed",
    "prediction_latency",
    "responsiveness",
    "drawing_robustness",
    "pen_errors",
    "unsure_verdict",
    "neighbour_search",
    "augment_memory",
    "augment_speed",
    "export_agreement",
    "app_latency",
    "app_training_speed",
    "accuracy_table",
    "full_set_pages",
    "lesson",
)


def main() -> int:
    print(
        f"# mnist-mlp benchmarks\n\nmachine: {platform.machine()}, {platform.processor() or 'CPU'}, "
        f"Python {platform.python_version()}\n"
    )
    failed = []
    for name in BENCHMARKS:
        print(f"## {name}\n", flush=True)
        if subprocess.run([sys.executable, "-m", f"benchmarks.{name}"]).returncode != 0:
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
