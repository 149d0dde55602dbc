"""``shotpack demo`` and ``shotpack convert`` (in-process and as a real subprocess)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import requests

from shotpack import load
from shotpack.cli import main
from shotpack.demo import SAMPLER_SHOTS, run_demo
from shotpack.iqm.client import IQMClient
from shotpack.iqm.models import Circuit, Instruction
from shotpack.measurements.parse import parse_measurements
from shotpack.server import LocalServer


def test_demo_exits_zero_and_writes_the_plot(tmp_path: Path) -> None:
    png = tmp_path / "demo.png"
    proc = subprocess.run(
        [sys.executable, "-m", "shotpack", "demo", "--plot", str(png)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "evs (3, 100), stds (3, 100)" in out
    assert f"BitArray(<shape=(100,), num_shots={SAMPLER_SHOTS}, num_bits=2>)" in out
    assert "post-processing share of the total" in out and "OK:" in out
    pytest.importorskip("matplotlib")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_fails_when_the_values_are_wrong() -> None:
    # A 20% readout error shrinks every value: the checks must catch it.
    out = io.StringIO()
    report = run_demo(plot=None, readout_error=0.2, out=out)
    assert not report.ok
    assert "FAILED" in out.getvalue() and "standard errors apart" in out.getvalue()


@pytest.fixture(scope="module")
def body() -> bytes:
    """A real measurements artifact: two circuits, two keys, from the local server."""
    with LocalServer(qubits=3, seed=5) as srv:
        client = IQMClient(srv.url)
        circuits = [
            Circuit(
                name=f"c{k}",
                instructions=[
                    Instruction(name="prx", locus=("QB1",), args={"angle": 1.0 + k, "phase": 0.0}),
                    Instruction(name="prx", locus=("QB3",), args={"angle": 2.0, "phase": 0.5}),
                    Instruction(name="measure", locus=("QB3", "QB1"), args={"key": "a"}),
                    Instruction(name="measure", locus=("QB2",), args={"key": "b"}),
                ],
            )
            for k in range(2)
        ]
        job = client.submit_circuits(circuits, shots=300)
        job.wait_for_completion(60)
        url = f"{srv.url}/api/v1/jobs/{job.job_id}/artifacts/measurements"
        return requests.get(url, timeout=30).content


def _reference_counts(raw: bytes) -> list[dict[str, dict[str, int]]]:
    # Column j of a key is bit j, the rightmost character.
    return [
        {
            key: dict(Counter("".join(str(b) for b in reversed(shot)) for shot in shots))
            for key, shots in circuit.items()
        }
        for circuit in json.loads(raw)
    ]


def test_convert_counts_and_bitstrings(
    body: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "measurements.json"
    path.write_bytes(body)
    assert main(["convert", str(path), "--to", "counts"]) == 0
    assert json.loads(capsys.readouterr().out) == _reference_counts(body)
    assert main(["convert", str(path), "--to", "bitstrings"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = [
        {k: ["".join(str(b) for b in reversed(s)) for s in v] for k, v in c.items()}
        for c in json.loads(body)
    ]
    assert got == want


def test_convert_npz_round_trip(body: bytes, tmp_path: Path) -> None:
    path = tmp_path / "measurements.json"
    path.write_bytes(body)
    assert main(["convert", str(path), "--to", "npz"]) == 0
    bins = load(tmp_path / "measurements.npz")
    want = parse_measurements(body)
    assert isinstance(bins, list) and len(bins) == len(want) == 2
    for got_bin, want_bin in zip(bins, want, strict=True):
        assert list(got_bin.keys()) == ["a", "b"]
        for key in ("a", "b"):
            assert got_bin[key].num_bits == want_bin[key].num_bits
            np.testing.assert_array_equal(got_bin[key].array, want_bin[key].array)
    # Explicit output path without the suffix: the real file name is used and reported.
    assert main(["convert", str(path), "--to", "npz", "-o", str(tmp_path / "other")]) == 0
    assert (tmp_path / "other.npz").exists()


def test_convert_registers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = {"bb_2_1_1": [[0], [1], [1]], "a_1_0_0": [[1], [1], [0]]}
    path = tmp_path / "qiskit.json"
    path.write_text(json.dumps([raw]))
    assert main(["convert", str(path), "--registers", "--to", "bitstrings"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"a": ["1", "1", "0"], "bb": ["00", "10", "10"]}]
    assert main(["convert", str(path), "--registers", "--to", "npz"]) == 0
    (dbin,) = load(tmp_path / "qiskit.npz")
    assert list(dbin.keys()) == ["a", "bb"] and dbin.bb.num_bits == 2


def test_convert_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('[{"m": [[0, 1], [1, 2]]}]')
    assert main(["convert", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.json" in err and "shotpack convert: error" in err


def test_convert_output_option_for_json(
    body: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "measurements.json"
    path.write_bytes(body)
    for to in ("counts", "bitstrings"):
        out = tmp_path / f"{to}.json"
        assert main(["convert", str(path), "--to", to, "-o", str(out)]) == 0
        printed = capsys.readouterr().out
        assert str(out) in printed and "{" not in printed  # the JSON went to the file only
        assert main(["convert", str(path), "--to", to]) == 0
        assert json.loads(out.read_text()) == json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("to", ["npz", "counts", "bitstrings"])
def test_convert_unwritable_output_is_a_message_not_a_traceback(
    body: bytes, tmp_path: Path, to: str
) -> None:
    path = tmp_path / "measurements.json"
    path.write_bytes(body)
    target = tmp_path / "missing-dir" / "out.x"
    proc = subprocess.run(
        [sys.executable, "-m", "shotpack", "convert", str(path), "--to", to, "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("shotpack convert: error: cannot write")
    assert "missing-dir" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "missing-dir").exists()


def test_demo_unwritable_plot_fails_cleanly(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = io.StringIO()
    report = run_demo(plot=str(tmp_path / "missing-dir" / "demo.png"), out=out)
    assert not report.ok
    assert any("could not write" in f and "missing-dir" in f for f in report.failures)
    assert "FAILED" in out.getvalue()
