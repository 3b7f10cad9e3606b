"""deploy/run-local.sh refuses what it cannot do with one clear line and a non-zero exit; the HAProxy
configuration it builds on is valid. (Running the hall itself: tests/e2e/test_lecture_hall.py.)"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "run-local.sh"
USAGE = "usage: deploy/run-local.sh N PORT"


def run_local(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or dict(os.environ),
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "expected 2 arguments, received 0."),
        (("2",), "expected 2 arguments, received 1."),
        (("0", "8500"), "N must be a whole number from 1 to 16, received '0'."),
        (("17", "8500"), "N must be a whole number from 1 to 16, received '17'."),
        (("two", "8500"), "N must be a whole number from 1 to 16, received 'two'."),
        (("-1", "8500"), "N must be a whole number from 1 to 16, received '-1'."),
        (("2", "65536"), "PORT must be a port number from 1 to 65535, received '65536'."),
        (("2", "80a"), "PORT must be a port number from 1 to 65535, received '80a'."),
        (("2", ""), "PORT must be a port number from 1 to 65535, received ''."),
    ],
)
def test_bad_arguments_are_refused_with_what_was_received_and_the_usage(arguments, message):
    completed = run_local(*arguments)
    assert completed.returncode == 2
    assert completed.stderr.startswith(f"run-local.sh: {message}") and USAGE in completed.stderr
    assert completed.stdout == ""


def test_a_busy_port_is_refused_before_anything_starts():
    if shutil.which("haproxy") is None:
        pytest.skip("HAProxy is not installed (CI installs Debian's haproxy)")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        completed = run_local("2", str(port))
    assert completed.returncode == 2
    assert completed.stderr == (
        f"run-local.sh: cannot listen on 127.0.0.1:{port} (Address already in use): the port is in use or "
        "not yours; choose another PORT (`ss -ltnp` shows who holds it).\n"
    )
    assert "ready" not in completed.stdout


def test_a_machine_without_haproxy_is_told_how_to_get_it(tmp_path):
    bare = tmp_path / "bin"  # a PATH with bash and what the script runs before its check, no haproxy
    bare.mkdir()
    for command in ("bash", "dirname"):
        (bare / command).symlink_to(shutil.which(command))
    completed = run_local("2", "8500", env={**os.environ, "PATH": str(bare)})
    assert completed.returncode == 2
    assert completed.stderr == "run-local.sh: haproxy is not installed (Debian: apt-get install haproxy).\n"


def test_the_haproxy_configuration_with_two_replicas_is_valid(tmp_path):
    if shutil.which("haproxy") is None:
        pytest.skip("HAProxy is not installed (CI installs Debian's haproxy)")
    config = tmp_path / "haproxy.cfg"
    servers = "".join(f"    server r{i} 127.0.0.1:{8500 + i} cookie r{i}\n" for i in (1, 2))
    config.write_text((ROOT / "deploy" / "haproxy.cfg").read_text() + servers)
    env = {**os.environ, "HALL_BIND": "127.0.0.1:8500"}
    completed = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Configuration file is valid" in completed.stdout
