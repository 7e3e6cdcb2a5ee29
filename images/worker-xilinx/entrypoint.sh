#!/bin/bash
# Sets the Xilinx Video SDK's environment (XRT, XRM, the SDK's FFmpeg), starts the XRM daemon and loads the U30
# devices and XRM plugins, then runs the worker. It does what the SDK's /opt/xilinx/xcdr/setup.sh does, without that
# script's checks of the operating system and kernel (a container sees the node's kernel, e.g. Amazon Linux 2023's
# 6.x, which the script refuses), its `systemctl`/`sudo` start of xrmd (neither exists for user 10001) and its
# unset variables. Anything missing stops the container with a message saying what, instead of a silent exit.
# ffmpeg finds the SDK's libraries through ld.so.conf (see the Dockerfile) and gets the variables the worker passes
# on to it (FFLEET_FFMPEG_ENV); nothing else of the worker's environment reaches ffmpeg.
#
# FFLEET_XILINX_ROOT (default /opt/xilinx), FFLEET_XILINX_DEVICES (default /dev/dri/renderD*) and
# FFLEET_XRMD_WAIT_SECONDS (default 30) exist for tests and unusual layouts.
set -euo pipefail

root="${FFLEET_XILINX_ROOT:-/opt/xilinx}"
devices="${FFLEET_XILINX_DEVICES:-/dev/dri/renderD*}"
wait_seconds="${FFLEET_XRMD_WAIT_SECONDS:-30}"
load_devices="$root/xcdr/scripts/xrm_commands/load_multiple_devices/load_all_devices_cmd.json"
load_plugins="$root/xcdr/scripts/xrm_commands/load_multi_u30_xrm_plugins_cmd.json"

fail() {
  echo "ffleet-xilinx-entrypoint: $*" >&2
  exit 78 # EX_CONFIG: the container cannot work as configured; restarting it will not help
}

missing=()
for path in "$root/xrt/lib" "$root/xrm/lib" "$root/xrm/bin/xrmd" "$root/xrm/bin/xrmadm" \
  "$root/ffmpeg/bin/ffmpeg" "$root/ffmpeg/lib" "$load_devices" "$load_plugins"; do
  [ -e "$path" ] || missing+=("$path")
done
if [ "${#missing[@]}" -gt 0 ]; then
  fail "the Xilinx Video SDK is not where this image expects it (missing: ${missing[*]}); rebuild images/worker-xilinx"
fi

export XILINX_XRT="$root/xrt"
export XILINX_XRM="$root/xrm"
export LD_LIBRARY_PATH="$root/xrt/lib:$root/xrm/lib:$root/ffmpeg/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$root/ffmpeg/bin:$root/xcdr/bin:$root/xrm/bin:$root/xrt/bin:$PATH"

# The device plugin hands the container its card's render nodes; without them no U30 job can run.
# shellcheck disable=SC2086 # the pattern is meant to be expanded
if ! compgen -G "$devices" >/dev/null; then
  fail "no U30 device ($devices): the pod must request amd.com/ama_u30 on a VT1 node running the Xilinx device plugin"
fi

# XRM allocates the cards' encoder, decoder and scaler units to ffmpeg processes; its daemon runs in the container.
"$root/xrm/bin/xrmd" &
deadline=$((SECONDS + wait_seconds))
until output="$("$root/xrm/bin/xrmadm" "$load_devices" 2>&1)"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    fail "xrmd did not load the U30 devices within ${wait_seconds}s: $output"
  fi
  sleep 1
done
if ! output="$("$root/xrm/bin/xrmadm" "$load_plugins" 2>&1)"; then
  fail "xrmd did not load the U30 XRM plugins: $output"
fi

exec "$@"
