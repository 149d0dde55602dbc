"""shotpack.dask on the threaded scheduler and on a real two-process ``distributed`` cluster on
127.0.0.1: every result equals the in-memory BitArray's or Estimator's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests._optional import require

dask = require("dask")
distributed = require("distributed")
require("zarr")

from shotpack import BitArray, DataBin  # noqa: E402
from shotpack.dask import (  # noqa: E402
    DaskBitArray,
    evaluate_estimator,
    open_zarr,
    read_artifacts,
)
from shotpack.expval.evaluate import evaluate_estimator as evaluate_in_memory  # noqa: E402
from shotpack.expval.plan import plan_measurements  # noqa: E402
from shotpack.io import measurements_to_zarr, to_zarr  # noqa: E402
from shotpack.measurements.parse import parse_measurements  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit="1GiB",
    )
    c = distributed.Client(cluster, timeout=60)
    try:
        yield c
    finally:
        c.close(timeout=30)
        cluster.close(timeout=30)


@pytest.fixture(params=["threads", "cluster"])
def run(request):
    """``dask.compute`` keyword arguments for the scheduler under test."""
    if request.param == "threads":
        return {"scheduler": "threads", "num_workers": 2}
    return {"scheduler": request.getfixturevalue("client")}


def random_bits(seed: int, shape, shots: int, num_bits: int, distinct: int = 6) -> BitArray:
    rng = np.random.default_rng(seed)
    outcomes = rng.integers(0, 2, (distinct, num_bits)).astype(bool)
    return BitArray.from_bool_array(outcomes[rng.integers(0, distinct, (*shape, shots))])


CASES = [
    (1, (), 50, 7),
    (8, (), 64, 64),
    (9, (2, 3), 33, 5),
    (64, (), 129, 1),
    (65, (3,), 40, 16),
]


@pytest.mark.parametrize(("num_bits", "shape", "shots", "chunk"), CASES)
def test_maps_and_reductions_match_in_memory(run, num_bits, shape, shots, chunk):
    ba = random_bits(num_bits + shots, shape, shots, num_bits)
    dba = DaskBitArray.from_bit_array(ba, chunk_shots=chunk)
    assert dba.shape == ba.shape and dba.num_shots == shots and dba.num_bits == num_bits
    assert dba.compute(**run) == ba
    assert dba.get_counts(**run) == ba.get_counts()
    assert dba.get_int_counts(**run) == ba.get_int_counts()
    if shape:
        assert dba.get_counts((1,), **run) == ba.get_counts((1,))
    (bitcount,) = dask.compute(dba.bitcount(), **run)
    np.testing.assert_array_equal(bitcount, ba.bitcount())
    idx = [num_bits - 1, 0] if num_bits > 1 else [0]
    assert dba.slice_bits(idx).compute(**run) == ba.slice_bits(idx)
    picks = [shots - 1, 0, shots // 2]
    assert dba.slice_shots(picks).compute(**run) == ba.slice_shots(picks)
    post = dba.postselect([0, -1], [True, False]).compute(**run)
    assert post == ba.postselect([0, -1], [True, False])
    obs = ["Z" * num_bits, {"I" * (num_bits - 1) + "Z": 0.5, "1" + "I" * (num_bits - 1): -2.0}]
    if shape:
        obs_b = np.array(obs, dtype=object).reshape((1,) * len(shape) + (2,)).tolist()
        ba_b = ba.reshape(*shape, 1)
        dba_b = DaskBitArray(dba.array.reshape(*shape, 1, shots, -1), num_bits)
        got, expected = dba_b.expectation_values(obs_b, **run), ba_b.expectation_values(obs_b)
    else:
        got, expected = dba.expectation_values(obs, **run), ba.expectation_values(obs)
    assert got.shape == expected.shape and got.tobytes() == expected.tobytes()


def test_estimator_from_dask_groups_matches(run):
    rng = np.random.default_rng(11)
    plan = plan_measurements(
        [{"ZZI": 1.0, "XXI": -0.5, "IYY": 0.25}, {"ZIZ": 2.0, "IIX": 1.0}],
        parameter_shape=(2,),
    )
    rand = 3
    data, flips = [], []
    for g in plan.groups:
        base = rng.integers(0, 2, (5, g.num_bits)).astype(bool)
        data.append(BitArray.from_bool_array(base[rng.integers(0, 5, (rand, 300))]))
        flips.append(rng.integers(0, 1 << g.num_bits, (rand, 1)).astype(np.uint8))
    expected = evaluate_in_memory(plan, data, flips)
    groups = [DaskBitArray.from_bit_array(d, chunk_shots=64) for d in data]
    got = evaluate_estimator(plan, groups, flips, **run)
    for name in ("evs", "stds", "ensemble_standard_error"):
        assert getattr(got, name).tobytes() == getattr(expected, name).tobytes(), name


def test_zarr_opened_lazily(tmp_path: Path, run):
    ba = random_bits(3, (2,), 500, 20, distinct=40)
    dbin = DataBin(meas=ba, other=random_bits(4, (2,), 500, 3), shape=(2,))
    to_zarr(dbin, tmp_path / "d.zarr", chunk_shots=128, provenance={"job": "x"})
    lazy = open_zarr(tmp_path / "d.zarr")
    assert isinstance(lazy.meas, DaskBitArray)
    assert lazy.meas.chunk_shots == (128, 128, 128, 116)
    assert lazy.meas.get_counts(**run) == ba.get_counts()
    np.testing.assert_array_equal(
        lazy.meas.expectation_values(["Z" * 20], **run), ba.expectation_values(["Z" * 20])
    )
    to_zarr(ba[0], tmp_path / "b.zarr", chunk_shots=100)
    bits = open_zarr(tmp_path / "b.zarr")
    assert isinstance(bits, DaskBitArray) and bits.compute(**run) == ba[0]


def test_chunk_files_read_like_zarr(tmp_path: Path, run):
    import zarr

    from shotpack.dask.bit_array import _ChunkFiles

    ba = random_bits(5, (3,), 250, 13, distinct=30)  # 2-byte rows, a clipped last chunk
    to_zarr(ba, tmp_path / "plain.zarr", chunk_shots=64)
    to_zarr(ba, tmp_path / "zstd.zarr", chunk_shots=64, compress=True)
    plain = zarr.open_group(tmp_path / "plain.zarr")["bits"]
    assert _ChunkFiles.of(plain) is not None  # the default layout is read directly
    assert _ChunkFiles.of(zarr.open_group(tmp_path / "zstd.zarr")["bits"]) is None
    for name in ("plain.zarr", "zstd.zarr"):
        assert open_zarr(tmp_path / name).compute(**run) == ba
    # A chunk never written reads as Zarr's fill value, as Zarr reads it.
    chunk = tmp_path / "plain.zarr" / "bits" / "c" / "0" / "2" / "0"  # chunks (3, 64, 2)
    chunk.unlink()
    np.testing.assert_array_equal(
        open_zarr(tmp_path / "plain.zarr").array.compute(**run), plain[...]
    )
    # A damaged chunk is an error naming its file, not wrong bits.
    (tmp_path / "plain.zarr" / "bits" / "c" / "0" / "1" / "0").write_bytes(b"\x00" * 5)
    with pytest.raises(ValueError, match=r"c/0/1/0: 5 bytes, expected 384"):
        open_zarr(tmp_path / "plain.zarr").array.compute(scheduler="sync")


def test_measurements_to_zarr_then_dask(tmp_path: Path, run):
    rng = np.random.default_rng(8)
    circuits = [{"m": rng.integers(0, 2, (200, 9)).tolist()} for _ in range(3)]
    body = json.dumps(circuits).encode()
    blocks = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    measurements_to_zarr(blocks, tmp_path / "job.zarr", chunk_shots=50)
    lazy = open_zarr(tmp_path / "job.zarr")
    expected = parse_measurements(body)
    assert len(lazy) == 3
    for got, exp in zip(lazy, expected, strict=True):
        assert got.m.get_int_counts(**run) == exp.m.get_int_counts()


def test_read_artifacts(tmp_path: Path, run):
    rng = np.random.default_rng(9)
    paths, bodies = [], []
    for i in range(5):
        body = json.dumps([{"m": rng.integers(0, 2, (40 + i, 3)).tolist()} for _ in range(2)])
        path = tmp_path / f"a{i}.json"
        path.write_text(body)
        paths.append(path)
        bodies.append(body.encode())
    obs = ["ZZZ", {"IIZ": 1.0, "1II": 0.5}]
    batch = read_artifacts(paths, obs, counts=True, parameters=np.arange(10).reshape(5, 2), **run)
    assert batch.shots.shape == (5, 2) and batch.evs.shape == (5, 2, 2)
    for i, body in enumerate(bodies):
        for c, dbin in enumerate(parse_measurements(body)):
            assert batch.shots[i, c] == dbin.m.num_shots
            assert batch.evs[i, c].tobytes() == dbin.m.expectation_values(obs).tobytes()
            assert batch.counts[i][c].to_dict() == dbin.m.get_counts()
            v = dbin.m.expectation_values(obs)
            assert v.shape == (2,)
    xr = pytest.importorskip("xarray")
    ds = batch.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert ds["evs"].dims == ("artifact", "circuit", "observable")
    assert ds["parameter_values"].shape == (5, 2)
    with pytest.raises(ValueError, match="artifact 1"):
        read_artifacts([bodies[0], b"[{]"], obs, scheduler="sync")


def test_argument_errors():
    dba = DaskBitArray.from_bit_array(BitArray.from_samples(["01", "10"], num_bits=2), 1)
    with pytest.raises(IndexError, match="out of bounds"):
        dba.slice_shots([2])
    with pytest.raises(IndexError):
        dba.slice_bits([5])
    with pytest.raises(ValueError, match="Lengths"):
        dba.postselect([0, 1], [True])
    with pytest.raises(TypeError, match="uint8"):
        DaskBitArray(np.zeros((2, 1), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="bytes per shot"):
        DaskBitArray(np.zeros((2, 2), dtype=np.uint8), 2)
    with pytest.raises(ValueError, match="not diagonal"):
        dba.expectation_values(["XX"], scheduler="sync")
