"""Zarr v3 storage: round trips in the packed layout, and a job's measurements written circuit by
circuit from a body fed in blocks."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotpack import BitArray, DataBin
from shotpack.containers.primitive_result import PrimitiveResult
from shotpack.containers.pub_result import PubResult, SamplerPubResult
from shotpack.io import measurements_to_zarr, open_zarr, to_zarr
from shotpack.measurements.parse import parse_measurements
from tests._optional import require

zarr = require("zarr")


def random_bits(rng, shape, shots, num_bits) -> BitArray:
    return BitArray.from_bool_array(rng.integers(0, 2, (*shape, shots, num_bits)).astype(bool))


@given(
    num_bits=st.sampled_from([1, 8, 9, 64, 65]),
    shape=st.sampled_from([(), (3,), (2, 2)]),
    shots=st.integers(0, 70),
    chunk_shots=st.integers(1, 80),
    seed=st.integers(0, 2**32 - 1),
)
def test_bit_array_round_trip(tmp_path_factory, num_bits, shape, shots, chunk_shots, seed):
    ba = random_bits(np.random.default_rng(seed), shape, shots, num_bits)
    path = tmp_path_factory.mktemp("z") / "bits.zarr"
    to_zarr(ba, path, chunk_shots=chunk_shots, provenance={"job_id": "abc", "n": np.int64(3)})
    back = open_zarr(path)
    assert isinstance(back, BitArray)
    assert back.num_bits == num_bits and back.shape == shape
    np.testing.assert_array_equal(back.array, ba.array)
    z = zarr.open_group(path, mode="r")
    arr = z["bits"]
    assert arr.dtype == np.uint8 and arr.shape == ba.array.shape
    assert arr.chunks[-1] == (num_bits + 7) // 8  # the bytes axis is never split
    assert arr.chunks[-2] == max(1, min(chunk_shots, shots))
    meta = z.attrs["shotpack"]
    assert meta["kind"] == "bitarray" and meta["provenance"]["job_id"] == "abc"
    assert meta["provenance"]["n"] == 3 and meta["provenance"]["writer"].startswith("shotpack")


def test_data_bin_list_pub_and_primitive_results(tmp_path: Path):
    rng = np.random.default_rng(3)
    bins = [
        DataBin(
            meas=random_bits(rng, (2, 3), 10, 5),
            flags=random_bits(rng, (2, 3), 10, 9),
            evs=rng.normal(size=(2, 3)),
            shots=10,
            shape=(2, 3),
        ),
        DataBin(c=random_bits(rng, (), 4, 2)),
    ]
    to_zarr(bins[0], tmp_path / "one.zarr", chunk_shots=3)
    one = open_zarr(tmp_path / "one.zarr")
    assert list(one.keys()) == ["meas", "flags", "evs", "shots"] and one.shape == (2, 3)
    assert one.meas == bins[0].meas and one.flags == bins[0].flags
    np.testing.assert_array_equal(one.evs, bins[0].evs)
    assert one.shots == 10
    meta = zarr.open_group(tmp_path / "one.zarr", mode="r")["data"].attrs["shotpack"]
    assert meta["registers"] == ["meas", "flags"] and meta["shape"] == [2, 3]

    to_zarr(bins, tmp_path / "many.zarr")
    many = open_zarr(tmp_path / "many.zarr")
    assert [list(b.keys()) for b in many] == [list(b.keys()) for b in bins]
    assert many[1].c == bins[1].c

    pub = SamplerPubResult(bins[1], {"shots": 4, "circuit_metadata": {"a": np.arange(2)}})
    to_zarr(pub, tmp_path / "pub.zarr")
    back = open_zarr(tmp_path / "pub.zarr")
    assert type(back) is SamplerPubResult
    assert back.metadata == {"shots": 4, "circuit_metadata": {"a": [0, 1]}}
    assert back.data.c == bins[1].c

    res = PrimitiveResult([pub, PubResult(bins[0])], {"version": 2})
    to_zarr(res, tmp_path / "res.zarr")
    back = open_zarr(tmp_path / "res.zarr")
    assert isinstance(back, PrimitiveResult) and back.metadata == {"version": 2}
    assert [type(p) for p in back] == [SamplerPubResult, PubResult]
    assert back[1].data.meas == bins[0].meas


def test_errors(tmp_path: Path):
    ba = BitArray.from_samples(["1"], num_bits=1)
    to_zarr(ba, tmp_path / "a.zarr")
    with pytest.raises(Exception, match=r"exist|contains"):
        to_zarr(ba, tmp_path / "a.zarr")
    to_zarr(ba, tmp_path / "a.zarr", overwrite=True)
    with pytest.raises(TypeError, match="field 'x'"):
        to_zarr(DataBin(x=object()), tmp_path / "b.zarr")
    with pytest.raises(ValueError, match="chunk_shots"):
        to_zarr(ba, tmp_path / "c.zarr", chunk_shots=0)
    zarr.open_group(tmp_path / "foreign.zarr", mode="w")
    with pytest.raises(ValueError, match="not written by shotpack"):
        open_zarr(tmp_path / "foreign.zarr")
    with pytest.raises(FileNotFoundError):
        open_zarr(tmp_path / "missing.zarr")


def body_of(circuits: list[dict[str, list[list[int]]]]) -> bytes:
    return json.dumps(circuits).encode()


@given(
    seed=st.integers(0, 2**32 - 1),
    num_circuits=st.integers(0, 4),
    cuts=st.lists(st.integers(0, 10_000), max_size=8),
    chunk_shots=st.integers(1, 50),
)
def test_measurements_streamed_in_blocks(tmp_path_factory, seed, num_circuits, cuts, chunk_shots):
    rng = np.random.default_rng(seed)
    circuits = []
    for c in range(num_circuits):
        shots = int(rng.integers(0, 40))
        keys = ["m", 'odd}"{key', f"meas_{c}"][: int(rng.integers(0, 4))]
        circuits.append(
            {k: rng.integers(0, 2, (shots, int(rng.integers(1, 12)))).tolist() for k in keys}
        )
    body = body_of(circuits)
    edges = sorted({0, len(body), *(min(c, len(body)) for c in cuts)})
    blocks = [body[a:b] for a, b in itertools.pairwise(edges)]
    path = tmp_path_factory.mktemp("m") / "job.zarr"
    n = measurements_to_zarr(iter(blocks), path, chunk_shots=chunk_shots, provenance={"job": 1})
    assert n == num_circuits
    got = open_zarr(path)
    expected = parse_measurements(body)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert list(g.keys()) == list(e.keys())
        for k in e.keys():
            assert g[k] == e[k]
    meta = zarr.open_group(path, mode="r").attrs["shotpack"]
    assert meta["complete"] is True and meta["count"] == num_circuits


def test_measurements_registers_match_parse(tmp_path: Path):
    body = body_of([{"c_2_0_0": [[1], [0]], "c_2_0_1": [[0], [0]]}])
    measurements_to_zarr(body, tmp_path / "r.zarr", registers=True)
    [got] = open_zarr(tmp_path / "r.zarr")
    [expected] = parse_measurements(body, registers=True)
    assert list(got.keys()) == ["c"] and got.c == expected.c


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'[{"m": [[0, 2]]}]', r"circuit 0 .*starting at byte offset 1"),
        (b'[{"m": [[0]]}, {"m": [[0, 1], [1]]}]', r"circuit 1 .*offset 15"),
        (b'[{"m": [[0]]} {"m": [[1]]}]', "between the circuits"),
        (b'[{"m": [[0]]}', "between the circuits"),
        (b'[{"m": [[0]]', "truncated"),
        (b'x[{"m": [[0]]}]', "between the circuits"),
        (b'[{"m": [[0]]}}]', "unbalanced"),
    ],
)
def test_measurements_errors_name_the_circuit(tmp_path: Path, body: bytes, match: str):
    with pytest.raises(ValueError, match=match):
        measurements_to_zarr(body, tmp_path / "bad.zarr")


def test_job_streamed_from_local_server_into_zarr(iqm_server, tmp_path: Path):
    """A real job on shotpack's server: its measurements body read over HTTP in 4 KiB blocks
    and written circuit by circuit equals the parsed body."""
    requests = pytest.importorskip("requests")
    from shotpack.iqm.client import IQMClient
    from shotpack.iqm.models import Circuit, Instruction

    def circuit(name: str, key: str) -> Circuit:
        return Circuit(
            name=name,
            instructions=[
                Instruction(name="prx", locus=("QB1",), args={"angle": 1.5707963, "phase": 0.0}),
                Instruction(name="cz", locus=("QB1", "QB2")),
                Instruction(name="measure", locus=("QB1", "QB2", "QB3"), args={"key": key}),
            ],
        )

    client = IQMClient(iqm_server.url)
    job = client.submit_circuits(
        [circuit("a", "m"), circuit("b", "k"), circuit("c", "m")], shots=700
    )
    job.wait_for_completion(60)
    url = f"{iqm_server.url.rstrip('/')}/api/v1/jobs/{job.job_id}/artifacts/measurements"
    with requests.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        count = measurements_to_zarr(
            response.iter_content(4096),
            tmp_path / "job.zarr",
            chunk_shots=256,
            provenance={"job_id": str(job.job_id)},
        )
    assert count == 3
    expected = client.get_job_data_bins(job.job_id)
    got = open_zarr(tmp_path / "job.zarr")
    assert [list(d.keys()) for d in got] == [["m"], ["k"], ["m"]]
    for g, e in zip(got, expected, strict=True):
        for k in e.keys():
            assert g[k] == e[k] and g[k].num_shots == 700
    meta = zarr.open_group(tmp_path / "job.zarr", mode="r").attrs["shotpack"]
    assert meta["provenance"]["job_id"] == str(job.job_id)
