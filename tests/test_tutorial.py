"""docs/tutorial.md runs as written, block after block, and shows what it says."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"


def test_tutorial_runs_and_says_what_it_shows() -> None:
    blocks = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), flags=re.S)
    assert len(blocks) >= 5
    # The last block stops the server: it is stopped here instead, after the job is checked.
    assert "server.stop()" in blocks[-1]
    blocks[-1] = blocks[-1].replace("server.stop()", "")
    ns: dict[str, object] = {}
    try:
        for block in blocks:
            exec(compile(block, str(TUTORIAL), "exec"), ns)
        job, client = ns["job"], ns["client"]
        counts = client.get_job_measurement_counts(job.job_id)[0].counts  # type: ignore[attr-defined]
        assert counts == {"100": 100}
        [data_bin] = client.get_job_data_bins(job.job_id)  # type: ignore[attr-defined]
        assert data_bin.m.get_counts() == {"001": 100}
    finally:
        server = ns.get("server")
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    result, bits, data = ns["result"], ns["bits"], ns["data"]
    assert type(result).__name__ == "PrimitiveResult"
    assert (bits.shape, bits.num_shots, bits.num_bits) == ((5,), 2000, 2)  # type: ignore[attr-defined]
    assert bits.get_counts(0) == {"00": 2000}  # type: ignore[attr-defined]
    assert set(bits.get_counts(2)) == {"00", "11"}  # type: ignore[attr-defined]
    evs, stds = data.evs, data.stds  # type: ignore[attr-defined]
    assert evs.shape == (2, 5)
    assert np.allclose(evs[0], 1.0)
    exact = np.cos(np.linspace(0, np.pi, 5))
    assert np.all(np.abs(evs[1] - exact) <= 5 * stds[1] + 1e-9)
