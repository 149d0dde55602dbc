"""With ``registers=True`` a register's width comes from a key's text, so a short body could ask
for a huge output; the native parse caps the output at 64 times the body (at least 64 MiB) and
says so. Covered: ``parse_measurements``, ``measurements_to_data_bin`` (register assembly) and a
client parsing a server's body (``IQMClient.get_job_data_bins``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shotpack import (
    Circuit,
    Instruction,
    IQMClient,
    LocalServer,
    measurements_to_data_bin,
    parse_measurements,
)

CAP_MESSAGE = r"the output would take \d+ bytes, more than the cap of \d+ bytes"


def wide_registers_body(registers: int, shots: int) -> bytes:
    """``registers`` registers of 2^20 clbits each, one measured clbit each."""
    return json.dumps(
        [{f"c{i}_1048576_{i}_0": [[i % 2]] * shots for i in range(registers)}]
    ).encode()


def test_parse_refuses_an_output_far_larger_than_the_body() -> None:
    body = wide_registers_body(300, 4)  # 13 KB asking for 150 MiB
    with pytest.raises(ValueError, match=CAP_MESSAGE) as info:
        parse_measurements(body, registers=True)
    cap = max(64 * len(body), 64 << 20)
    assert f"cap of {cap} bytes" in str(info.value)
    assert f"for {len(body)} bytes of input" in str(info.value)
    # Per key it is small and parses.
    [bins] = parse_measurements(body)
    assert len(list(bins)) == 300


def test_registers_below_the_cap_parse() -> None:
    # One 2^20-clbit register, 8 shots: 1 MiB of output from a small body is below the floor.
    [bins] = parse_measurements(wide_registers_body(1, 8), registers=True)
    arr = np.asarray(bins.c0.array)
    assert arr.shape == (8, 1 << 17) and bins.c0.num_bits == 1 << 20
    assert not arr.any()


def test_register_assembly_from_lists_has_the_same_cap() -> None:
    measurements = {f"c{i}_1048576_{i}_0": [[1]] * 4 for i in range(300)}
    with pytest.raises(ValueError, match=CAP_MESSAGE):
        measurements_to_data_bin(measurements, registers=True)


def test_client_parsing_a_server_body_is_capped() -> None:
    # Five keys naming 2^20-clbit registers, 200 shots: 640 KiB per shot of register output
    # (125 MiB) from a body of a few kilobytes.
    circuit = Circuit(
        name="wide",
        instructions=[
            Instruction(name="measure", locus=(f"QB{q + 1}",), args={"key": f"r{q}_1048576_{q}_0"})
            for q in range(5)
        ],
    )
    with LocalServer("127.0.0.1", 0, qubits=5, seed=3) as server:
        client = IQMClient(server.url)
        job = client.submit_circuits([circuit], shots=200)
        job.wait_for_completion()
        [bins] = client.get_job_data_bins(job.job_id)
        assert len(list(bins)) == 5
        with pytest.raises(ValueError, match=CAP_MESSAGE):
            client.get_job_data_bins(job.job_id, registers=True)
