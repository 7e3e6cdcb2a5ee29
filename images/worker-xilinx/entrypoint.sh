#!/bin/bash
# Loads the Video SDK environment (XRT, XRM and its U30 plugins) before the worker starts. ffmpeg finds the SDK's
# libraries through ld.so.conf (see the Dockerfile) and gets the SDK's variables the worker passes on to it
# (FFLEET_FFMPEG_ENV); nothing else of the worker's environment reaches ffmpeg.
set -euo pipefail
# shellcheck disable=SC1091
source /opt/xilinx/xcdr/setup.sh >/dev/null
exec "$@"
