"""TensorFlow's start-up noise: which native stderr lines are noise, and that only they are dropped."""

import logging
import os
import subprocess
import sys

import pytest

from mnist_mlp import quiet

NOISE = [  # as TensorFlow 2.21 prints them here, and as its CUDA builds print them (tensorflow#100442)
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796185606.129118   11701 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors.",
    "I0000 00:00:1796185819.430006   19687 cpu_feature_guard.cc:227] This TensorFlow binary is optimized "
    "to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.",
    "2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not find cuda "
    "drivers on your machine, GPU will not be used.",
    "E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting "
    "to register factory for plugin cuDNN when one has already been registered",
    "W0000 00:00:1758131045.228000 3722035 computation_placer.cc:177] computation placer already registered.",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
]
NEWS = [  # what the command line itself says, and what must never be hidden
    "epoch 1/1: loss 2.0614, accuracy 26.47%, val_loss 1.6686, val_accuracy 54.75%, 3,790 images/s",
    "mnist_mlp train: error: a model named 'tiny' already exists; choose another --out or --overwrite",
    "F0000 00:00:1758131045.203198 3722035 check.cc:1] Check failed: fatal, so the reason shows",
    "E0000 00:00:1758131045.203198 3722035 op_kernel.cc:1] OOM when allocating tensor: an error, shown",
    "2025-09-17 14:44:05.157831: E tensorflow/core/framework/op_kernel.cc:1] Invalid argument: shown",
    "Traceback (most recent call last):",
    "",
]


@pytest.mark.parametrize("line", NOISE)
def test_tensorflows_log_lines_are_noise(line):
    assert quiet.is_noise(line)


@pytest.mark.parametrize("line", NEWS)
def test_the_command_lines_own_words_and_fatal_errors_are_not(line):
    assert not quiet.is_noise(line)


def test_only_the_noise_is_dropped_from_what_native_code_writes(capfd):
    absl = logging.getLogger("absl")
    before = absl.level
    with quiet.tensorflow_quiet():
        assert absl.level == logging.ERROR and os.environ[quiet.LOG_LEVEL_ENV]
        os.write(2, "\n".join([NOISE[0], NEWS[0], NOISE[1], NEWS[2], ""]).encode())  # as C++ writes
        os.write(2, b"a last line without its newline")
        print("from Python", file=sys.stderr)
    assert absl.level == before
    err = capfd.readouterr().err
    assert NEWS[0] in err and NEWS[2] in err and "from Python" in err
    assert err.endswith("a last line without its newline")
    assert not any(quiet.is_noise(line) for line in err.splitlines())
    os.write(2, NOISE[1].encode() + b"\n")  # outside the block, descriptor 2 is itself again
    assert capfd.readouterr().err == NOISE[1] + "\n"


def test_a_fatal_line_is_printed_even_when_tensorflow_aborts_straight_after():
    """The filter is a process of its own: it outlives a command that aborts and prints what was left."""
    script = (
        "import os\n"
        "from mnist_mlp import quiet\n"
        "with quiet.tensorflow_quiet():\n"
        f"    os.write(2, {(NOISE[1] + chr(10) + NEWS[2] + chr(10)).encode()!r})\n"
        "    os.abort()\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0
    assert NEWS[2] in ran.stderr and NOISE[1] not in ran.stderr
