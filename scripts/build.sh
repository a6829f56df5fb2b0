#!/usr/bin/env bash
# Build the collection artifact, the tarball to install or to upload to Galaxy / Automation Hub:
#   scripts/build.sh [output directory]        (default: build/dist)
# Use this rather than a bare `ansible-galaxy collection build`: it ships docs/galaxy/README.md as
# the artifact's README.md (see build_artifact in scripts/lib/common.sh).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_venv >&2
artifact="$(build_artifact "${1:-$REPO_ROOT/build/dist}")"
echo "$artifact"
