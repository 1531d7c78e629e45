#!/usr/bin/env bash
# The test command of the README: installs what is missing, builds everything (the host and
# every plugin as its own shared library), then runs the whole test suite; without arguments
# (no --filter), also the install tests (Tests/install-tests.sh: a release build, scripts/install.sh
# into a temporary prefix, the .deb into a throwaway root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Examples/install-dependencies.sh --tests
swift build --build-tests
swift test --skip-build "$@"
if [ $# -eq 0 ]; then
    bash Tests/install-tests.sh
fi
