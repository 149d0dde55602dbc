"""shotpack.save / shotpack.load: DataBins to .npz and back."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from shotpack import BitArray, DataBin, load, save


def _bits(rng: np.random.Generator, shape: tuple[int, ...], shots: int, num_bits: int) -> BitArray:
    nbytes = (num_bits + 7) // 8
    arr = rng.integers(0, 256, size=(*shape, shots, nbytes), dtype=np.uint8)
    if num_bits % 8:
        arr[..., 0] &= (1 << (num_bits % 8)) - 1
    return BitArray(arr, num_bits)


@given(
    shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
    shots=st.sampled_from([0, 1, 7]),
    num_bits=st.sampled_from([1, 8, 9, 64, 65]),
    compress=st.booleans(),
)
def test_round_trip_bit_arrays(
    shape: tuple[int, ...], shots: int, num_bits: int, compress: bool
) -> None:
    rng = np.random.default_rng(num_bits)
    a = _bits(rng, shape, shots, num_bits)
    b = _bits(rng, shape, shots, 3)
    buf = io.BytesIO()
    save(buf, DataBin(meas=a, c=b, shape=shape), compress=compress)
    buf.seek(0)
    out = load(buf)
    assert isinstance(out, DataBin)
    assert list(out.keys()) == ["meas", "c"] and out.shape == shape
    for name, want in (("meas", a), ("c", b)):
        got = out[name]
        assert isinstance(got, BitArray)
        assert got.num_bits == want.num_bits and got.shape == want.shape
        np.testing.assert_array_equal(got.array, want.array)


def test_round_trip_list_arrays_and_scalars(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    bins = [
        DataBin(evs=rng.normal(size=(3, 4)), stds=np.abs(rng.normal(size=(3, 4))), shape=(3, 4)),
        DataBin(m=_bits(rng, (), 5, 2), count=3, label="x", flag=True, z=1.5 + 2j),
        DataBin(),
    ]
    path = tmp_path / "bins.npz"
    save(path, bins)
    out = load(path)
    assert isinstance(out, list) and len(out) == 3
    np.testing.assert_array_equal(out[0].evs, bins[0].evs)
    assert out[0].shape == (3, 4) and out[0].evs.dtype == np.float64
    assert (out[1].count, out[1].label, out[1].flag, out[1].z) == (3, "x", True, 1.5 + 2j)
    np.testing.assert_array_equal(out[1].m.array, bins[1].m.array)
    assert len(out[2]) == 0
    # A list of one stays a list; a plain DataBin comes back as one.
    save(path, bins[:1])
    assert isinstance(load(path), list)
    # The file is a plain npz, readable without pickling.
    with np.load(path, allow_pickle=False) as npz:
        header = json.loads(str(npz["__shotpack__"]))
    assert header["version"] == 1 and header["bins"][0]["fields"][0]["name"] == "evs"


def test_save_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="DataBin or a sequence"):
        save(tmp_path / "x.npz", {"a": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="item 1"):
        save(tmp_path / "x.npz", [DataBin(), 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="field 'o'"):
        save(tmp_path / "x.npz", DataBin(o=np.array([object()])))
    with pytest.raises(TypeError, match="field 'f'"):
        save(tmp_path / "x.npz", DataBin(f=[1, 2]))


def test_load_errors(tmp_path: Path) -> None:
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(ValueError, match="without a shotpack header"):
        load(plain)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        load(single)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="not a readable"):
        load(junk)
    newer = tmp_path / "newer.npz"
    np.savez(newer, __shotpack__=np.asarray(json.dumps({"version": 99, "bins": []})))
    with pytest.raises(ValueError, match="format 99"):
        load(newer)
    missing = tmp_path / "missing.npz"
    header = {
        "version": 1,
        "single": True,
        "bins": [{"shape": [], "fields": [{"name": "m", "kind": "ndarray"}]}],
    }
    np.savez(missing, __shotpack__=np.asarray(json.dumps(header)))
    with pytest.raises(ValueError, match="b0_f0 of field 'm' is missing"):
        load(missing)


@pytest.mark.parametrize("content", [b'{"m": [[0, 1]]}', b"", b"P", b"\x80\x04K\x01."])
def test_load_non_npz_says_so(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"is not an \.npz file") as ei:
        load(path)
    assert "pickle" not in str(ei.value)
    stream = io.BytesIO(b"xx" + content)
    stream.seek(2)
    with pytest.raises(ValueError, match=r"is not an \.npz file"):
        load(stream)
    assert stream.tell() == 2  # sniffing the header does not move the position


def test_load_from_file_object_after_sniffing(tmp_path: Path) -> None:
    buf = io.BytesIO()
    save(buf, DataBin(x=np.arange(3)))
    buf.seek(0)
    np.testing.assert_array_equal(load(buf).x, np.arange(3))


def test_load_missing_path_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")
