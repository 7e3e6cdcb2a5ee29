#!/usr/bin/env bash
# What `make test-images` needs besides `make setup`: Debian's podman (with runc, which works on hosts whose
# cgroup layout crun refuses), buildah and mmdebstrap to make base images without a registry, and a local
# container registry (CNCF distribution, pinned in tools.env) for `make images` to push to.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tools.env
source "$here/tools.env"
cache="${FFLEET_CACHE:-$HOME/.cache/ffleet}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
for tool in podman:podman buildah:buildah mmdebstrap:mmdebstrap runc:runc newuidmap:uidmap gpg:gnupg; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "[setup-images] apt-get install ${need[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

stamp="$cache/bin/.registry.version"
if [ ! -x "$cache/bin/registry" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$DISTRIBUTION_VERSION" ]; then
  echo "[setup-images] go install github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION" >&2
  GOBIN="$cache/bin" GOFLAGS=-mod=mod go install "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION"
  echo "$DISTRIBUTION_VERSION" >"$stamp"
fi
