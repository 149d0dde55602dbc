"""The README's code runs as written and says what it shows."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    bits = namespace["bits"]
    assert bits.get_counts() == {"10": 1, "11": 2, "00": 1}  # type: ignore[attr-defined]
    assert bits.get_int_array().tolist() == [2, 3, 3, 0]  # type: ignore[attr-defined]
    data = namespace["result"][0].data  # type: ignore[index]
    assert data.evs.shape == data.stds.shape == (2, 5)
    exact = np.cos(np.linspace(0, np.pi, 5))
    assert np.all(np.abs(data.evs[1] - exact) <= 5 * data.stds[1] + 1e-9)
    assert np.allclose(data.evs[0], 1.0)


def test_readme_quick_start_matches_ci() -> None:
    text = README.read_text()
    # The quick start installs the plot extra, so the demo's first run writes demo.png.
    assert "pip install '.[plot]' && shotpack demo" in text
    assert "bash scripts/test.sh" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci
