#!/usr/bin/env bash
# Builds every ffleet image and pushes it to a registry you name, for the architectures each image supports:
#   gateway, worker-cpu    linux/amd64 + linux/arm64 (one multi-arch manifest)
#   worker-nvidia          linux/amd64
#   worker-xilinx          linux/amd64, only when named in IMAGES and given XILINX_KEY_FINGERPRINT
#
#   make images REGISTRY=111122223333.dkr.ecr.us-east-1.amazonaws.com [TAG=0.1.0] [IMAGES="gateway worker-cpu"]
#
# PLATFORMS=linux/amd64 builds only that platform (a cluster without Graviton pools needs no arm64 images);
# TLS_VERIFY=false lets podman push to a plain-HTTP registry (a local test registry).
#
# The images are pushed as $REGISTRY/ffleet/<image>:$TAG, which is what the chart pulls with image.registry and
# image.tag. BUILDER=docker (default when docker is installed) uses docker buildx with a docker-container builder
# (the default docker driver cannot build multi-platform images); BUILDER=podman uses podman manifests. Building the
# other architecture needs QEMU binfmt handlers on the build machine (docker run --privileged --rm
# tonistiigi/binfmt --install all, or Debian's qemu-user-static), or a native builder per architecture.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
registry="${REGISTRY:?set REGISTRY, e.g. make images REGISTRY=111122223333.dkr.ecr.us-east-1.amazonaws.com}"
registry="${registry%/}"
tag="${TAG:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$root/charts/ffleet/Chart.yaml")}"
images="${IMAGES:-gateway worker-cpu worker-nvidia}"
builder="${BUILDER:-$(command -v docker >/dev/null && echo docker || echo podman)}"
dry_run="${DRY_RUN:-}"
tls_verify="${TLS_VERIFY:-true}"

platforms_of() {
  if [ -n "${PLATFORMS:-}" ]; then echo "$PLATFORMS"; return; fi
  case "$1" in
    gateway | worker-cpu) echo linux/amd64,linux/arm64 ;;
    worker-nvidia | worker-xilinx) echo linux/amd64 ;;
    *) echo "unknown image $1 (images: gateway worker-cpu worker-nvidia worker-xilinx)" >&2; exit 1 ;;
  esac
}
args_of() {
  if [ "$1" = worker-xilinx ]; then
    [ -n "${XILINX_KEY_FINGERPRINT:-}" ] || {
      echo "worker-xilinx needs XILINX_KEY_FINGERPRINT: the fingerprint of Xilinx's apt signing key, as AMD publishes it" >&2
      exit 1
    }
    echo "--build-arg=XILINX_KEY_FINGERPRINT=$XILINX_KEY_FINGERPRINT"
  fi
}
say() { printf '\033[1m[images]\033[0m %s\n' "$*" >&2; }
step() { # prints the command, runs it unless DRY_RUN is set
  say "$*"
  [ -n "$dry_run" ] || "$@"
}

for image in $images; do platforms_of "$image" >/dev/null; args_of "$image" >/dev/null; done
cd "$root"
if [ "$builder" = docker ]; then
  docker buildx inspect ffleet >/dev/null 2>&1 || step docker buildx create --name ffleet --driver docker-container
  for image in $images; do
    # shellcheck disable=SC2046 # args_of prints zero or one word
    step docker buildx build --builder ffleet --platform "$(platforms_of "$image")" $(args_of "$image") \
      -f "images/$image/Dockerfile" -t "$registry/ffleet/$image:$tag" --push .
  done
elif [ "$builder" = podman ]; then
  for image in $images; do
    ref="$registry/ffleet/$image:$tag"
    podman manifest exists "$ref" 2>/dev/null && step podman manifest rm "$ref"
    # shellcheck disable=SC2046
    step podman build --format docker --platform "$(platforms_of "$image")" $(args_of "$image") \
      --ignorefile "images/$image/Dockerfile.dockerignore" -f "images/$image/Dockerfile" --manifest "$ref" .
    step podman manifest push --all --tls-verify="$tls_verify" "$ref" "docker://$ref"
  done
else
  echo "BUILDER must be docker or podman" >&2
  exit 1
fi
say "pushed: $(for image in $images; do printf '%s ' "$registry/ffleet/$image:$tag"; done)"
say "helm values: image.registry=$registry image.tag=$tag"
