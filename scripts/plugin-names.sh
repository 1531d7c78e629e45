#!/usr/bin/env bash
# Prints the name of every plugin Package.swift builds, one per line: each is the product
# libRSynth<Name>.so. They are the entries of its `plugins` list (Swift plugins, one target each)
# and the dynamic libraries it declares on their own (the C `pytorch` plugin: RSynthPyTorch).
# Used by scripts/install.sh and Tests/install-tests.sh, so both see the same set.
set -euo pipefail
package="${1:-$(dirname "$0")/../Package.swift}"
{
    sed -n '/^let plugins:/,/^]/p' "$package" | sed -n 's/^ *("\([A-Za-z0-9]*\)".*/\1/p'
    sed -n 's/^ *\.library(name: "RSynth\([A-Za-z0-9]*\)", type: \.dynamic.*/\1/p' "$package"
} | sort -u
