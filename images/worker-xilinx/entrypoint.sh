#!/bin/bash
# Loads the Video SDK environment (XRT, XRM and its U30 plugins) before the worker starts. ffmpeg itself finds
# the SDK's libraries through ld.so.conf (see the Dockerfile), since the worker runs it with a clean environment.
set -euo pipefail
# shellcheck disable=SC1091
source /opt/xilinx/xcdr/setup.sh >/dev/null
exec "$@"
