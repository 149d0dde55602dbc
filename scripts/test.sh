#!/usr/bin/env bash
# Installs shotpack with test and lint extras (builds the Rust extension) and runs every Python test.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q ".[test,dev,qiskit,progress,plot]"
# Run from the repo root with the installed package, not the source tree (the source tree has no
# compiled extension); --import-mode=importlib keeps tests/ off sys.path.
python -m pytest -q -p no:cacheprovider "$@"
