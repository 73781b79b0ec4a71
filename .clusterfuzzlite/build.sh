#!/bin/bash -eu
exec "$SRC/vhostile/fuzz/oss-fuzz-build.sh"
