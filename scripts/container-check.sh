#!/usr/bin/env bash
# The container, run for real: the Docker engine (started if need be), the base image (scripts/container-base.sh
# when no registry provides it), docker/Dockerfile built, the four-node network of docker/compose.host.yaml up with
# host networking (all traffic on 127.0.0.1), then checked and torn down:
#   - every container's health check healthy (GET /readyz);
#   - every node's GET /v1/status: its name and role, and the other three connected;
#   - every node process running with jemalloc, the allocator the image preloads;
#   - a write: a staff key at hospital-a, a user enrolled there (`healthchain user enrol`), an exam written through
#     its API, and the exam read at the regulator once replicated (its plain part; the sealed part not readable).
#
#   scripts/container-check.sh [--keep]        (npm run container:check)
#
# --keep leaves the network running (project healthchain-check; down with
# `docker-compose -p healthchain-check -f docker/compose.host.yaml down -v`).
# Exit 0: checked. Non-zero: a step failed (it says which; the containers' last log lines follow). Exit 0 with a
# line "SKIPPED: <why>" only when no engine runs and none can be started here (not root, docker.io not installed,
# dockerd failing: its last log lines are shown).
# The ports of `healthchain dev` on 127.0.0.1 must be free: 7000-7003, 7010-7013, 7020-7023.
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=healthchain-check
COMPOSE_FILE=docker/compose.host.yaml
NODES=(hospital-a:examiner:7000 hospital-b:examiner:7001 agency:inquirer:7002 regulator:regulator:7003)
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "container-check: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

STARTED=$(date +%s)
phase_start=$STARTED
say () { echo "container-check: $*"; }
phase () { local now; now=$(date +%s); say "$1 ($(( now - phase_start ))s)"; phase_start=$now; }
skip () { echo "SKIPPED: $*"; exit 0; }
fail () { echo "container-check: FAILED: $*" >&2; exit 1; }

# ---- the engine
DOCKERD_PID=
DOCKERD_LOG=
stop_engine () {
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2> /dev/null || true
    wait "$DOCKERD_PID" 2> /dev/null || true
  fi
}
command -v docker > /dev/null || skip "no docker command (apt-get install docker.io)"
if ! docker info > /dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || skip "no Docker engine answers and starting one needs root"
  command -v dockerd > /dev/null || skip "no Docker engine answers and dockerd is not installed (apt-get install docker.io)"
  DOCKERD_LOG=$(mktemp /tmp/healthchain-dockerd.XXXXXX.log)
  # No bridge and no iptables rules: every container here runs with host networking (or none), and a sandbox may
  # refuse to set either up.
  say "starting dockerd --bridge=none --iptables=false (log: $DOCKERD_LOG)"
  dockerd --bridge=none --iptables=false > "$DOCKERD_LOG" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 60); do
    docker info > /dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2> /dev/null || break
    sleep 0.5
  done
  if ! docker info > /dev/null 2>&1; then
    echo "container-check: dockerd's last log lines:"
    tail -n 15 "$DOCKERD_LOG" | sed 's/^/  /'
    stop_engine
    skip "the Docker engine does not start on this machine (dockerd log above)"
  fi
fi
trap stop_engine EXIT
phase "engine $(docker version --format '{{.Server.Version}}') answers"

# docker compose (v2) where the plugin is installed, else Debian's docker-compose (1.29).
if docker compose version > /dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose > /dev/null; then
  COMPOSE=(docker-compose)
else
  fail "neither 'docker compose' nor 'docker-compose' (apt-get install docker-compose)"
fi
COMPOSE+=(-p "$PROJECT" -f "$COMPOSE_FILE")

# BuildKit is needed (docker/Dockerfile.dockerignore keeps node_modules and dist out of the context): through buildx
# where it is installed, else the docker.io package's own CLI, whose BuildKit client is built in.
if docker buildx version > /dev/null 2>&1; then
  BUILD=(docker build)
elif [ -x /usr/bin/docker ]; then
  BUILD=(env DOCKER_BUILDKIT=1 /usr/bin/docker build)
else
  fail "BuildKit is needed to build docker/Dockerfile: install docker buildx, or use the docker.io package's docker command"
fi

# ---- the images
for spec in "${NODES[@]}"; do
  port=${spec##*:}
  for p in "$port" $(( port + 10 )) $(( port + 20 )); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null; then
      fail "port $p on 127.0.0.1 is taken (a running 'healthchain dev'?); the host network needs 7000-7003, 7010-7013 and 7020-7023"
    fi
  done
done

scripts/container-base.sh || fail "the base image could not be made (scripts/container-base.sh, above)"
phase "base image ready"
BUILD_LOG=$(mktemp /tmp/healthchain-build.XXXXXX.log)
# --network host: the build's npm ci and apt-get reach the registries the host reaches, with no bridge.
if ! "${BUILD[@]}" --network host --progress plain -f docker/Dockerfile -t healthchain-node . > "$BUILD_LOG" 2>&1; then
  tail -n 30 "$BUILD_LOG" >&2
  fail "docker build failed (last lines above; whole log in $BUILD_LOG)"
fi
rm -f "$BUILD_LOG"
phase "image healthchain-node built"

# ---- the network
dump_logs () {
  echo "container-check: the containers' last log lines:" >&2
  "${COMPOSE[@]}" logs --no-color --tail 15 >&2 2> /dev/null || true
}
teardown () {
  local rc=$?
  [ "$rc" = 0 ] || dump_logs
  if [ "$KEEP" = 1 ]; then
    say "left running (--keep): ${COMPOSE[*]} down -v"
  else
    "${COMPOSE[@]}" down -v --remove-orphans > /dev/null 2>&1 || echo "container-check: could not tear down: ${COMPOSE[*]} down -v" >&2
  fi
  stop_engine
  exit "$rc"
}
"${COMPOSE[@]}" down -v --remove-orphans > /dev/null 2>&1 || true
trap teardown EXIT
up_out=$("${COMPOSE[@]}" up -d --no-build 2>&1) || { echo "$up_out" | tail -n 20 >&2; fail "docker compose up failed (above)"; }
phase "compose network up (init ran, four nodes started)"

container_of () { "${COMPOSE[@]}" ps -q "$1"; }
health_of () { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(container_of "$1")"; }
deadline=$(( $(date +%s) + 180 ))
for spec in "${NODES[@]}"; do
  name=${spec%%:*}
  until [ "$(health_of "$name")" = healthy ]; do
    [ "$(health_of "$name")" != unhealthy ] || fail "$name's health check reports unhealthy"
    [ "$(date +%s)" -lt "$deadline" ] || fail "$name not healthy within 180 s (health: $(health_of "$name"))"
    sleep 1
  done
done
phase "health checks: all four healthy"

# A field of a JSON document on stdin, by a dotted path (`entries.0.id`); empty when absent.
field () {
  node -e 'let s = ""; process.stdin.on("data", (d) => { s += d }).on("end", () => {
    let v = JSON.parse(s); for (const k of process.argv[1].split(".")) v = v == null ? undefined : v[k]
    console.log(v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : v) })' "$1"
}
api () { curl -sS --max-time 10 "$@"; }

deadline=$(( $(date +%s) + 60 ))
for spec in "${NODES[@]}"; do
  IFS=: read -r name role port <<< "$spec"
  while :; do
    status=$(api "http://127.0.0.1:$port/v1/status") || fail "GET /v1/status at $name (127.0.0.1:$port) failed"
    [ "$(field name <<< "$status")" = "$name" ] || fail "$name's status names $(field name <<< "$status")"
    [ "$(field role <<< "$status")" = "$role" ] || fail "$name's status says role $(field role <<< "$status"), not $role"
    peers=$(field connectedPeers.length <<< "$status")
    [ "$peers" -lt 3 ] || break
    [ "$(date +%s)" -lt "$deadline" ] || fail "$name is connected to $peers peers, not 3, after 60 s"
    sleep 1
  done
  say "  $name: /v1/status $role, 3 peers connected, $(field chainsHeld <<< "$status") chains"
done
phase "status: all four answer, each connected to the other three"

# ---- the allocator the image preloads (docker/Dockerfile): without it a node's memory creeps up under steady writes
exec_in () { "${COMPOSE[@]}" exec -T "$@"; }
for spec in "${NODES[@]}"; do
  IFS=: read -r name _ _ <<< "$spec"
  exec_in "$name" grep -q libjemalloc /proc/1/maps || fail "$name's node process does not run with jemalloc (LD_PRELOAD in docker/Dockerfile)"
done
phase "allocator: every node process runs with jemalloc"

# ---- a write at hospital-a, read at the regulator
staff_token () {
  local key
  key=$(exec_in "$1" healthchain apikey create --dir /data --label container-check --json | field apiKey)
  [ -n "$key" ] || fail "no API key from '$1 healthchain apikey create'"
  api -H 'content-type: application/json' -d "{\"apiKey\":\"$key\"}" "http://127.0.0.1:$2/v1/session" | field token
}
exec_in hospital-a healthchain user new --out /tmp/container-check.phrase --json > /dev/null
user=$(exec_in hospital-a healthchain user enrol --api http://127.0.0.1:7000 --phrase-file /tmp/container-check.phrase \
  --api-key "$(exec_in hospital-a healthchain apikey create --dir /data --label container-check-enrol --json | field apiKey)" --json | field userId)
[ -n "$user" ] || fail "the user was not enrolled at hospital-a"
exec_in hospital-a rm -f /tmp/container-check.phrase
token=$(staff_token hospital-a 7000)
[ -n "$token" ] || fail "no staff session at hospital-a"
exam='{"type":"exam","plain":{"title":"container check","observations":[{"code":"8867-4","value":72,"unit":"/min"}]},'
exam+='"sealed":{"notes":"for the user and hospital-a only"}}'
written=$(api -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$exam" "http://127.0.0.1:7000/v1/users/$user/entries")
entry=$(field id <<< "$written")
[ -n "$entry" ] || fail "the exam was not written at hospital-a: $written"
say "  user $user enrolled at hospital-a; exam $entry written at position $(field seq <<< "$written")"

token=$(staff_token regulator 7003)
[ -n "$token" ] || fail "no staff session at the regulator"
deadline=$(( $(date +%s) + 60 ))
until [ "$(api -H "authorization: Bearer $token" "http://127.0.0.1:7003/v1/users/$user/entries?type=exam" | field entries.0.id)" = "$entry" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the exam did not reach the regulator within 60 s"
  sleep 1
done
read_back=$(api -H "authorization: Bearer $token" "http://127.0.0.1:7003/v1/users/$user/entries?type=exam")
[ "$(field entries.0.plain.title <<< "$read_back")" = "container check" ] || fail "the regulator reads another exam: $read_back"
[ -z "$(field entries.0.sealed <<< "$read_back")" ] || fail "the regulator reads the exam's sealed part"
phase "write: the exam written at hospital-a is read at the regulator (plain part only)"

say "OK: 4 containers healthy, 4 /v1/status, 1 exam replicated; $(( $(date +%s) - STARTED ))s in all"
