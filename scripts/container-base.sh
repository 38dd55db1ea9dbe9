#!/usr/bin/env bash
# The base image docker/Dockerfile builds FROM, `node:20-bookworm-slim`, made on this machine when no image
# registry is reachable: a minimal Debian bookworm from Debian's packages (debootstrap), this machine's Node.js
# and npm copied into it where the official image keeps them (/usr/local), then `docker import`ed under that name.
# An image of that name already present (pulled, or made by an earlier run) is left alone; --force remakes it.
#
#   sudo scripts/container-base.sh [--force]
#
# What the official image has and the Dockerfile relies on: node, npm and npx on the PATH, a `node` user
# (uid 1000), apt able to install Debian packages (the build stage installs python3, make and g++). Added here:
#   - libatomic1 (rocksdb-native needs it) and ca-certificates;
#   - Node's headers in /usr/local/include/node and `nodedir=/usr/local` in npm's global config, so that a
#     native module compiled from source (better-sqlite3 when no prebuilt binary fits) needs no header download;
#   - the certificate authorities this machine added locally (/usr/local/share/ca-certificates), so that npm in
#     the build reaches the registry through the same TLS-inspecting proxy the host goes through, if there is one.
#
# Settings (environment): HEALTHCHAIN_BASE_IMAGE (node:20-bookworm-slim), HEALTHCHAIN_DEBIAN_MIRROR (default: the
# first Debian archive this machine's apt is set up with, the one its own packages come from), HEALTHCHAIN_DOCKER (docker).
set -euo pipefail
# A step that fails names itself (set -e would otherwise end the script without a word).
trap 'echo "container-base: failed (line $LINENO: $BASH_COMMAND)" >&2' ERR

IMAGE=${HEALTHCHAIN_BASE_IMAGE:-node:20-bookworm-slim}
# The archive apt uses here (deb822 .sources or one-line .list), security archives left out: debootstrap wants the main one.
apt_mirror () {
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2> /dev/null | awk '{ print $2 }'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null | awk '{ for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { print $i; break } }'
  } | grep -v -- '-security' | head -n 1 || true
}
MIRROR=${HEALTHCHAIN_DEBIAN_MIRROR:-$(apt_mirror)}
if [ -z "$MIRROR" ]; then
  echo "container-base: no Debian archive found in /etc/apt; set HEALTHCHAIN_DEBIAN_MIRROR" >&2
  exit 1
fi
DOCKER=${HEALTHCHAIN_DOCKER:-docker}
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "container-base: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

fail () { echo "container-base: $*" >&2; exit 1; }

if [ "$FORCE" = 0 ] && "$DOCKER" image inspect "$IMAGE" > /dev/null 2>&1; then
  echo "container-base: $IMAGE exists; left alone (--force remakes it)"
  exit 0
fi
[ "$(id -u)" = 0 ] || fail "debootstrap needs root"
command -v debootstrap > /dev/null || fail "debootstrap is missing (apt-get install debootstrap)"
NODE=$(command -v node) || fail "node is not on the PATH: its binary is what goes into the image"
NODE=$(readlink -f "$NODE")
NODE_MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" = 20 ] || fail "this machine's Node.js is $("$NODE" --version); $IMAGE must hold Node.js 20"
NODE_PREFIX=$(dirname "$(dirname "$NODE")")
NPM_DIR=$(npm root -g)/npm
[ -f "$NPM_DIR/bin/npm-cli.js" ] || fail "npm not found at $NPM_DIR"
[ -f "$NODE_PREFIX/include/node/node.h" ] || fail "Node's headers are not in $NODE_PREFIX/include/node"

ROOTFS=$(mktemp -d /tmp/healthchain-base.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
started=$(date +%s)
echo "container-base: debootstrap bookworm (minbase) from $MIRROR"
if ! debootstrap --variant=minbase --include=libatomic1,ca-certificates bookworm "$ROOTFS" "$MIRROR" > "$ROOTFS.log" 2>&1; then
  tail -n 20 "$ROOTFS.log" >&2
  fail "debootstrap failed (log above; whole log in $ROOTFS.log)"
fi
rm -f "$ROOTFS.log"

echo "container-base: Node.js $("$NODE" --version) and npm $("$NODE" "$NPM_DIR/bin/npm-cli.js" --version) from this machine"
install -m 0755 "$NODE" "$ROOTFS/usr/local/bin/node"
mkdir -p "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/usr/local/include" "$ROOTFS/usr/local/etc"
cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
cp -a "$NODE_PREFIX/include/node" "$ROOTFS/usr/local/include/node"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
# npm's global config ($prefix/etc/npmrc). npm uses Node's own CA list unless told: point it at the system's.
printf 'nodedir=/usr/local\ncafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\nfund=false\n' > "$ROOTFS/usr/local/etc/npmrc"

if compgen -G '/usr/local/share/ca-certificates/*.crt' > /dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
  chroot "$ROOTFS" update-ca-certificates > /dev/null 2>&1 || fail "update-ca-certificates failed in the image"
fi

# The official image's unprivileged user, which the Dockerfile switches to.
echo 'node:x:1000:1000::/home/node:/bin/bash' >> "$ROOTFS/etc/passwd"
echo 'node:x:1000:' >> "$ROOTFS/etc/group"
echo 'node:*:19000:0:99999:7:::' >> "$ROOTFS/etc/shadow"
mkdir -p "$ROOTFS/home/node"
chown 1000:1000 "$ROOTFS/home/node"

rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/log/*.log "$ROOTFS"/tmp/*
# debootstrap leaves the host's name and resolver; the engine provides both at run time.
: > "$ROOTFS/etc/hostname"
: > "$ROOTFS/etc/resolv.conf"

echo "container-base: importing as $IMAGE"
tar --numeric-owner -C "$ROOTFS" -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$("$NODE" -p process.versions.node)" \
  --change 'CMD ["node"]' \
  --message "made locally by scripts/container-base.sh: Debian bookworm minbase and this machine's Node.js" \
  - "$IMAGE" > /dev/null
echo "container-base: $IMAGE ready ($("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }'), $(( $(date +%s) - started ))s)"
