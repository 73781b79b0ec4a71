#!/bin/bash -eu
# projects/vhostile/build.sh for google/oss-fuzz: the real script lives in
# the repository (fuzz/oss-fuzz-build.sh) and also runs locally.
exec "$SRC/vhostile/fuzz/oss-fuzz-build.sh"
