"""`shotpack serve` / `python -m shotpack serve` as a real process on an ephemeral port."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
import requests

from shotpack.cli import build_parser, main


def test_serve_process_answers_and_stops_cleanly():
    cmd = [sys.executable, "-m", "shotpack", "serve", "--port", "0", "--qubits", "3"]
    cmd += ["--seed", "1", "--token", "cli-token", "--readout-error", "QB1=0.1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        base = match.group(1)
        assert "cli-token" not in line
        headers = {"Authorization": "Bearer cli-token"}
        r = requests.get(f"{base}/api/v1/quantum-computers", headers=headers, timeout=10)
        assert r.json()["quantum_computers"][0]["alias"] == "sim"
        sqa = requests.get(
            f"{base}/api/v1/quantum-computers/sim/artifacts/static-quantum-architectures",
            headers=headers,
            timeout=10,
        ).json()
        assert sqa[0]["qubits"] == ["QB1", "QB2", "QB3"]
        assert requests.get(f"{base}/api/v1/about", timeout=10).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "cli-token" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--faults", "nonsense"],
        ["serve", "--qubits", "0"],
        ["serve", "--readout-error", "QB99=0.1"],
    ],
)
def test_serve_rejects_bad_options(args, capsys):
    assert main([*args, "--port", "0"]) == 2
    assert "shotpack serve: error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], "argument --port: must be in 0..65535, got 99999"),
        (["--port", "-1"], "argument --port: must be in 0..65535, got -1"),
        (["--port", "x"], "argument --port: expected an integer, got 'x'"),
        (["--job-delay", "-1"], "argument --job-delay: must be finite and >= 0"),
        (["--job-delay", "nan"], "argument --job-delay: must be finite and >= 0"),
        (["--max-shots", "0"], "argument --max-shots: must be at least 1, got 0"),
        (["--max-body-bytes", "-5"], "argument --max-body-bytes: must be at least 1"),
        (["--max-qubits", "0"], "argument --max-qubits: must be at least 1"),
        (["--seed", "-1"], "argument --seed: must be at least 0, got -1"),
    ],
)
def test_out_of_range_numbers_are_argparse_errors(args, message, capsys):
    # Parse only: a regression must not start a server that serves forever.
    with pytest.raises(SystemExit) as ei:
        build_parser().parse_args(["serve", *args])
    assert ei.value.code == 2
    assert message in capsys.readouterr().err


def test_port_bounds_are_accepted():
    for port in ("0", "65535"):
        assert build_parser().parse_args(["serve", "--port", port]).port == int(port)


def test_bad_readout_error_syntax_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--readout-error", "x"])
    assert "--readout-error" in capsys.readouterr().err


def test_no_subcommand_prints_help(capsys):
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out
