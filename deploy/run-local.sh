#!/usr/bin/env bash
# A lecture hall on this machine: N replicas of the app behind HAProxy (deploy/haproxy.cfg) on PORT,
# sharing one model store and one drawings folder. For trying it and for the tests; Ctrl-C stops all.
#
#   deploy/run-local.sh N PORT
#
# Environment (all optional):
#   MNIST_MLP_MODELS, MNIST_MLP_DRAWINGS   the shared folders, passed to every replica as they are
#                                          (unset: the app's own defaults, the same for every replica)
#   STREAMLIT_SERVER_COOKIE_SECRET         shared by every replica; a new one for this run when unset
#   HALL_ADDRESS                           where HAProxy listens (127.0.0.1; 0.0.0.0 lets a class in)
#   HALL_RUN_DIR                           the generated haproxy.cfg, logs, HAProxy's stats socket,
#                                          `replicas` (NAME PORT PID per line) and haproxy.pid; a
#                                          temporary folder, removed at the end, when unset
#   PYTHON                                 the Python that has the app's requirements (python3)
#   HALL_START_SECONDS                     how long a replica may take to answer (180)
#
# Prints "ready: URL" once every replica and HAProxy answer; exits non-zero, saying why, when it cannot.
set -euo pipefail

MAX_REPLICAS=16
START_SECONDS=${HALL_START_SECONDS:-180}  # for a replica to answer its health check; a loaded machine is slow
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
ADDRESS=${HALL_ADDRESS:-127.0.0.1}

fail() {
  echo "run-local.sh: $*" >&2
  exit 2
}

usage="usage: deploy/run-local.sh N PORT (N replicas, 1 to $MAX_REPLICAS; PORT where HAProxy listens)"
[[ $# -eq 2 ]] || fail "expected 2 arguments, received $#. $usage"
replicas=$1
port=$2
if ! [[ $replicas =~ ^[0-9]{1,3}$ ]] || ((10#$replicas < 1 || 10#$replicas > MAX_REPLICAS)); then
  fail "N must be a whole number from 1 to $MAX_REPLICAS, received '$replicas'. $usage"
fi
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
  fail "PORT must be a port number from 1 to 65535, received '$port'. $usage"
fi
replicas=$((10#$replicas))
port=$((10#$port))
command -v haproxy >/dev/null || fail "haproxy is not installed (Debian: apt-get install haproxy)."
"$PYTHON" -c "import streamlit" 2>/dev/null ||
  fail "$PYTHON cannot import streamlit: install the app's requirements (pip install -r requirements.txt)."

# Whether ADDRESS:PORT can be listened on; the message names who holds it when it cannot.
"$PYTHON" - "$ADDRESS" "$port" <<'EOF' || exit 2
import socket, sys
address, port = sys.argv[1], int(sys.argv[2])
try:
    with socket.socket() as probe:
        probe.bind((address, port))
except OSError as err:
    sys.exit(f"run-local.sh: cannot listen on {address}:{port} ({err.strerror}): the port is in use or "
             "not yours; choose another PORT (`ss -ltnp` shows who holds it).")
EOF

# N free ports for the replicas, on loopback: only HAProxy is reachable from outside.
mapfile -t replica_ports < <("$PYTHON" - "$replicas" <<'EOF'
import socket, sys
probes = [socket.socket() for _ in range(int(sys.argv[1]))]
for probe in probes:
    probe.bind(("127.0.0.1", 0))
print("\n".join(str(probe.getsockname()[1]) for probe in probes))
EOF
)

if [[ -n ${HALL_RUN_DIR:-} ]]; then
  run_dir=$HALL_RUN_DIR
  mkdir -p "$run_dir"
  made_run_dir=""
else
  run_dir=$(mktemp -d "${TMPDIR:-/tmp}/mnist-mlp-hall.XXXXXX")
  made_run_dir=$run_dir
fi
export STREAMLIT_SERVER_COOKIE_SECRET=${STREAMLIT_SERVER_COOKIE_SECRET:-$("$PYTHON" -c "import secrets; print(secrets.token_hex(32))")}

children=()
stop_children() {
  trap - EXIT INT TERM
  local pid
  for pid in "${children[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${children[@]}"; do
    # a replica stops within seconds of SIGTERM; one that does not is killed
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -z $made_run_dir ]] || rm -rf "$made_run_dir"
}
trap stop_children EXIT
trap 'echo "run-local.sh: stopping"; exit 130' INT
trap 'exit 143' TERM

# HAProxy's configuration: the shared file, a server line per replica, and a stats socket for the tests.
config=$run_dir/haproxy.cfg
{
  cat "$ROOT/deploy/haproxy.cfg"
  for ((i = 1; i <= replicas; i++)); do
    echo "    server r$i 127.0.0.1:${replica_ports[i - 1]} cookie r$i"
  done
  printf 'global\n    stats socket "%s" mode 600 level admin\n' "$run_dir/haproxy.sock"
} >"$config"
export HALL_BIND="$ADDRESS:$port"
haproxy -c -q -f "$config" || fail "HAProxy refused its configuration $config (above)."

: >"$run_dir/replicas"
cd "$ROOT"
for ((i = 1; i <= replicas; i++)); do
  replica_port=${replica_ports[i - 1]}
  "$PYTHON" -m streamlit run app.py --server.headless true --server.address 127.0.0.1 \
    --server.port "$replica_port" --server.fileWatcherType none --browser.gatherUsageStats false \
    >"$run_dir/r$i.log" 2>&1 &
  children+=($!)
  echo "r$i $replica_port $!" >>"$run_dir/replicas"
done

# Until URL's health check says ok; gives up when PID (if given) has exited or START_SECONDS pass.
wait_healthy() {
  "$PYTHON" - "$1" "${2:-0}" "$START_SECONDS" <<'EOF'
import os, sys, time, urllib.request
url, pid, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    if pid:
        try:
            os.kill(pid, 0)
            if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
                sys.exit("it exited")
        except ProcessLookupError:
            sys.exit("it exited")
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as response:
            if response.read().strip() == b"ok":
                sys.exit(0)
    except OSError:
        time.sleep(0.3)
sys.exit(f"no answer within {seconds:g} s")
EOF
}

for ((i = 1; i <= replicas; i++)); do
  if ! why=$(wait_healthy "http://127.0.0.1:${replica_ports[i - 1]}" "${children[i - 1]}" 2>&1); then
    tail -n 20 "$run_dir/r$i.log" >&2 || true
    fail "replica r$i did not start ($why); its log is above and in $run_dir/r$i.log."
  fi
done

haproxy -db -f "$config" >"$run_dir/haproxy.log" 2>&1 &
haproxy_pid=$!
children+=("$haproxy_pid")
echo "$haproxy_pid" >"$run_dir/haproxy.pid"
if ! why=$(wait_healthy "http://$ADDRESS:$port" "$haproxy_pid" 2>&1); then
  cat "$run_dir/haproxy.log" >&2 || true
  fail "HAProxy did not start on $ADDRESS:$port ($why)."
fi
[[ $ADDRESS == 0.0.0.0 ]] && shown=127.0.0.1 || shown=$ADDRESS
noun=replicas
if ((replicas == 1)); then noun=replica; fi
echo "ready: http://$shown:$port ($replicas $noun; logs, config and stats socket in $run_dir)"

# Serve until HAProxy stops or a signal comes; a replica that dies is said, and HAProxy routes around it.
while true; do
  ended=""
  status=0
  wait -n -p ended || status=$?
  [[ -n $ended ]] || continue
  if [[ $ended == "$haproxy_pid" ]]; then
    fail "HAProxy exited with code $status; see $run_dir/haproxy.log."
  fi
  for ((i = 1; i <= replicas; i++)); do
    if [[ ${children[i - 1]} == "$ended" ]]; then
      echo "run-local.sh: replica r$i (pid $ended) exited with code $status; HAProxy sends its browsers to the others." >&2
    fi
  done
done
