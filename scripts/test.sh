#!/usr/bin/env bash
# The README's test command: installs shotpack with its test extras (building the Rust extension
# once, release profile) and runs every Python test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q ".[test,progress,plot,dask]"
python -m pytest -q -p no:cacheprovider "$@"

# mthree, the reference for readout mitigation, needs a newer pydantic than iqm-client 36 allows,
# so its agreement test runs in a virtualenv of its own that sees this environment's packages
# (the shotpack installed above) behind its own.
mthree_env="${TMPDIR:-/tmp}/shotpack-mthree-env"
python -m venv "$mthree_env"
parent=$(python -c "import sysconfig as s; print(s.get_paths()['purelib']); print(s.get_paths()['platlib'])")
own=$("$mthree_env/bin/python" -c "import sysconfig as s; print(s.get_paths()['purelib'])")
printf '%s\n' "$parent" > "$own/_shotpack_parent_env.pth"
"$mthree_env/bin/python" -m pip install -q mthree
"$mthree_env/bin/python" -m pytest -q -p no:cacheprovider tests/mitigation -k mthree
