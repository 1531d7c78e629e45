#!/usr/bin/env bash
# The test command of the README: installs what is missing, builds everything (the host and
# every plugin as its own shared library), then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Examples/install-dependencies.sh --tests
swift build --build-tests
swift test --skip-build "$@"
