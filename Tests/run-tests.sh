#!/usr/bin/env bash
# The test command of the README: installs what is missing, builds everything (the host and
# every plugin as its own shared library), then runs the whole test suite; without arguments
# (no --filter), also the install tests (Tests/install-tests.sh: a release build, scripts/install.sh
# into a temporary prefix, the .deb into a throwaway root).
# The `pytorch` plugin's tests need torch: RSYNTH_TEST_PYTHON names an interpreter that has it;
# otherwise Tests/setup-torch-venv.sh creates (or reuses) ~/.cache/rsynth-torch-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Examples/install-dependencies.sh --tests
if [ -z "${RSYNTH_TEST_PYTHON:-}" ]; then
    RSYNTH_TEST_PYTHON="$(bash Tests/setup-torch-venv.sh)"
    export RSYNTH_TEST_PYTHON
fi
swift build --build-tests
swift test --skip-build "$@"
if [ $# -eq 0 ]; then
    bash Tests/install-tests.sh
fi
