#!/bin/sh
# One-time set-up of the compose network (compose.yaml's `init` service): the
# steps `healthchain dev` takes on its first run (node/src/cli/dev/setup.ts),
# with the addresses containers reach each other on. Keep the two in step.
#
#   each node's keys                  healthchain keys create
#   the registry in hospital-a        healthchain consortium create
#   all four admitted, /dns4/<name>   healthchain admit
#   <node volume>/config.json         registryKey and bootstrap: the only settings
#                                     known after set-up (the rest comes from the
#                                     HEALTHCHAIN_* variables in compose.yaml)
#
# Runs again harmlessly: a network already set up is left alone.
#
# HEALTHCHAIN_INIT_P2P overrides the libp2p TCP address of each node, as
# "name=/multiaddr ..." (compose.host.yaml: the nodes share the host's
# network, so each listens on 127.0.0.1 on a port of its own); a node not
# named there is at /dns4/<name>/tcp/4001, its compose service's name.
set -eu

NODES="hospital-a:examiner hospital-b:examiner agency:inquirer regulator:regulator"
HOST=hospital-a
GOVERNANCE=/governance/governance.json

if [ -f "/nodes/$HOST/config.json" ]; then
  echo "init: the network is set up already (/nodes/$HOST/config.json exists); nothing to do"
  exit 0
fi

# A node's libp2p TCP address, as the registry and the other nodes' bootstrap name it.
p2p_addr() {
  for pair in ${HEALTHCHAIN_INIT_P2P:-}; do
    if [ "${pair%%=*}" = "$1" ]; then echo "${pair#*=}"; return; fi
  done
  echo "/dns4/$1/tcp/4001"
}

# A field of the one JSON document a `--json` command printed.
field() { node -e 'let s = ""; process.stdin.on("data", (d) => { s += d }).on("end", () => { console.log(JSON.parse(s)[process.argv[1]]) })' "$1"; }

for spec in $NODES; do
  healthchain keys create --dir "/nodes/${spec%%:*}" > /dev/null
done

registry_key=$(healthchain consortium create --host-dir "/nodes/$HOST" --governance-key "$GOVERNANCE" \
  --name "healthchain compose consortium" --institution "$HOST" --json | field registryKey)

for spec in $NODES; do
  name=${spec%%:*}
  role=${spec#*:}
  healthchain admit --host-dir "/nodes/$HOST" --governance-key "$GOVERNANCE" \
    --institution "$name" --role "$role" --data-dir "/nodes/$name" --addr "$(p2p_addr "$name")"
done

host_peer=$(healthchain keys create --dir "/nodes/$HOST" --json | field peerId)
for spec in $NODES; do
  name=${spec%%:*}
  if [ "$name" = "$HOST" ]; then bootstrap='[]'; else bootstrap="[\"$(p2p_addr "$HOST")/p2p/$host_peer\"]"; fi
  printf '{\n  "registryKey": "%s",\n  "p2p": { "bootstrap": %s }\n}\n' "$registry_key" "$bootstrap" > "/nodes/$name/config.json"
done

echo "init: consortium created (registry $registry_key); hospital-a, hospital-b, agency and regulator admitted"
echo "init: create staff API keys with: docker compose exec <node> healthchain apikey create --dir /data --role <role>"
