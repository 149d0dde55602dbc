#!/usr/bin/env bash
# The README's test command: installs shotpack with its test extras (building the Rust extension
# once, release profile) and runs every Python test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q ".[test,progress,plot,dask]"
python -m pytest -q -p no:cacheprovider "$@"
