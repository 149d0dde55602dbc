"""DataBin, PubResult, SamplerPubResult and PrimitiveResult against qiskit.primitives."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import qiskit.primitives as qp

from shotpack import BitArray, DataBin, PrimitiveResult, PubResult, SamplerPubResult


def twin_bit_arrays(array: np.ndarray, num_bits: int) -> tuple[BitArray, qp.BitArray]:
    return BitArray(array, num_bits), qp.BitArray(array, num_bits)


def exc_of(fn) -> tuple[type, str]:  # type: ignore[no-untyped-def]
    try:
        fn()
    except Exception as exc:
        return type(exc), str(exc)
    return type(None), ""


# --- DataBin -----------------------------------------------------------------------------------


def test_repr_matches_qiskit() -> None:
    evs = np.zeros((3, 2))
    ours_ba, qk_ba = twin_bit_arrays(np.zeros((3, 2, 5, 2), np.uint8), 10)
    cases = [
        ({}, {}),
        ({"evs": evs, "n": 3, "s": "x"}, {"shape": (3, 2)}),
        ({"meas": ours_ba}, {"shape": (3, 2)}),
        ({"a": [1, 2]}, {}),
    ]
    for data, kw in cases:
        qk_data = {k: (qk_ba if v is ours_ba else v) for k, v in data.items()}
        assert repr(DataBin(**data, **kw)) == repr(qp.DataBin(**qk_data, **kw))


def test_mapping_and_attribute_access_like_qiskit() -> None:
    evs, stds = np.arange(6.0).reshape(3, 2), np.ones((3, 2))
    ours = DataBin(evs=evs, stds=stds, shape=(3, 2))
    ref = qp.DataBin(evs=evs, stds=stds, shape=(3, 2))
    assert ours.evs is evs and ours["stds"] is stds
    assert list(ours) == list(ref) == ["evs", "stds"]
    assert list(ours.keys()) == list(ref.keys())
    assert type(ours.keys()) is type(ref.keys())
    assert repr(ours.items()) == repr(ref.items())
    assert [v is w for v, w in zip(ours.values(), ref.values(), strict=True)] == [True, True]
    assert len(ours) == len(ref) == 2
    assert ("evs" in ours, "x" in ours) == ("evs" in ref, "x" in ref) == (True, False)
    assert dict(ours) == {"evs": evs, "stds": stds}
    assert (ours.shape, ours.ndim, ours.size) == (ref.shape, ref.ndim, ref.size) == ((3, 2), 2, 6)
    assert ours._FIELDS == ref._FIELDS and ours._SHAPE == ref._SHAPE
    assert ours._FIELD_TYPES == ref._FIELD_TYPES
    assert exc_of(lambda: ours["missing"]) == exc_of(lambda: ref["missing"])
    assert exc_of(lambda: ours.missing)[0] is AttributeError
    assert DataBin().size == 1 and DataBin().ndim == 0


def test_errors_match_qiskit() -> None:
    for kwargs in [{"keys": 1}, {"shape": (), "size": 1, "values": 2}, {"_data": 1}, {"ndim": 0}]:
        assert exc_of(lambda kw=kwargs: DataBin(**kw)) == exc_of(lambda kw=kwargs: qp.DataBin(**kw))
    bad = {"x": np.zeros((2, 3)), "shape": (3,)}
    assert exc_of(lambda: DataBin(**bad)) == exc_of(lambda: qp.DataBin(**bad))
    ba, qba = twin_bit_arrays(np.zeros((2, 4, 1), np.uint8), 3)
    assert exc_of(lambda: DataBin(m=ba, shape=(3,))) == exc_of(
        lambda: qp.DataBin(m=qba, shape=(3,))
    )
    assert exc_of(lambda: DataBin(1))[0] is exc_of(lambda: qp.DataBin(1))[0] is TypeError  # type: ignore[misc]


def test_unshaped_values_are_not_checked() -> None:
    d = DataBin(n=5, lst=[1, 2, 3], shape=(7,))
    assert d.n == 5 and d.lst == [1, 2, 3]


def test_shape_given_as_int_or_list_is_normalised() -> None:
    # Documented fix: Qiskit compares against the raw argument and rejects these.
    arr = np.zeros(3)
    for shape in (3, [3], (3,), np.int64(3), [[3]]):
        d = DataBin(x=arr, shape=shape)
        assert d.shape == (3,)
    assert DataBin(x=np.zeros((2, 3, 4)), shape=[2, 3]).shape == (2, 3)
    with pytest.raises(ValueError, match="does not lead with the shape"):
        DataBin(x=np.zeros(4), shape=3)
    for bad in ("ab", 1.5, None):
        with pytest.raises(ValueError, match="to be iterable or an integer"):
            DataBin(shape=bad)


def test_truly_immutable() -> None:
    evs = np.zeros(2)
    d = DataBin(evs=evs, shape=(2,))
    for action in (
        lambda: setattr(d, "evs", 1),
        lambda: setattr(d, "new", 1),
        lambda: setattr(d, "_data", {}),
        lambda: setattr(d, "_shape", ()),
        lambda: delattr(d, "evs"),
    ):
        with pytest.raises(AttributeError, match="immutable"):
            action()
    with pytest.raises(TypeError):
        d._data["evs"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        _ = d.__dict__
    assert d.evs is evs and d["evs"] is evs and list(d) == ["evs"]


def test_underscore_and_dunder_names_allowed() -> None:
    d = DataBin(_x=1, __len__=2)
    assert d._x == 1 and d["__len__"] == 2 and len(d) == 2


def test_pickle_and_deepcopy() -> None:
    ba = BitArray(np.arange(6, dtype=np.uint8).reshape(3, 2), 10)
    d = DataBin(meas=ba, evs=np.arange(4.0).reshape(2, 2)[0], shape=())
    for clone in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
        assert type(clone) is DataBin and list(clone) == ["meas", "evs"]
        np.testing.assert_array_equal(clone.meas.array, ba.array)
        assert clone.meas.num_bits == 10 and clone.meas is not ba
        np.testing.assert_array_equal(clone.evs, d.evs)
        with pytest.raises(AttributeError):
            clone.evs = 1
    shallow = copy.copy(d)
    assert shallow.meas is ba
    assert pickle.loads(pickle.dumps(DataBin(x=np.zeros(2), shape=2))).shape == (2,)


def test_equality_is_identity_like_qiskit() -> None:
    a, b = DataBin(x=1), DataBin(x=1)
    assert a == a and a != b
    assert hash(a) != hash(b) or a is b


# --- PubResult / SamplerPubResult --------------------------------------------------------------


def test_pub_result_like_qiskit() -> None:
    d, qd = DataBin(x=1), qp.DataBin(x=1)
    for md in (None, {}, {"shots": 4}):
        assert repr(PubResult(d, md)) == repr(qp.PubResult(qd, md))
        assert repr(SamplerPubResult(d, md)) == repr(qp.SamplerPubResult(qd, md))
    r = PubResult(d)
    assert r.data is d and r.metadata == {}
    assert PubResult(d).metadata is not PubResult(d).metadata
    for name in ("data", "metadata"):
        with pytest.raises(AttributeError):
            setattr(r, name, 1)
    with pytest.raises(AttributeError):
        r.other = 1  # type: ignore[attr-defined]
    clone = pickle.loads(pickle.dumps(SamplerPubResult(d, {"a": 1})))
    assert type(clone) is SamplerPubResult and clone.metadata == {"a": 1} and clone.data.x == 1


def test_join_data_first_name_in_lowest_bits() -> None:
    rng = np.random.default_rng(3)
    arrays = {
        "alpha": (rng.integers(0, 256, (2, 5, 1), dtype=np.uint8) & 3, 2),
        "beta": (rng.integers(0, 2, (2, 5, 1), dtype=np.uint8), 1),
        "gamma": (rng.integers(0, 256, (2, 5, 2), dtype=np.uint8) & 0x0F, 12),
    }
    ours = SamplerPubResult(
        DataBin(**{k: BitArray(a, n) for k, (a, n) in arrays.items()}, shape=(2,))
    )
    ref = qp.SamplerPubResult(
        qp.DataBin(**{k: qp.BitArray(a, n) for k, (a, n) in arrays.items()}, shape=(2,))
    )
    for names in (None, ["beta", "alpha"], ("gamma", "alpha", "beta"), iter(["alpha"])):
        names_ref = list(names) if names is not None else None
        got = ours.join_data(names_ref)
        want = ref.join_data(names_ref)
        assert isinstance(got, BitArray)
        assert got.num_bits == want.num_bits
        np.testing.assert_array_equal(got.array, want.array)


def test_join_data_ndarrays_and_errors_like_qiskit() -> None:
    x, y = np.ones((2, 3)), np.zeros((2, 1))
    ours, ref = SamplerPubResult(DataBin(x=x, y=y)), qp.SamplerPubResult(qp.DataBin(x=x, y=y))
    np.testing.assert_array_equal(ours.join_data(), ref.join_data())
    ba = BitArray(np.zeros((2, 1), np.uint8), 1)
    qba = qp.BitArray(np.zeros((2, 1), np.uint8), 1)
    cases = [
        (SamplerPubResult(DataBin()), qp.SamplerPubResult(qp.DataBin()), None),
        (ours, ref, []),
        (ours, ref, ["x", "nope"]),
        (SamplerPubResult(DataBin(a=ba, x=x)), qp.SamplerPubResult(qp.DataBin(a=qba, x=x)), None),
        (SamplerPubResult(DataBin(x=x, a=ba)), qp.SamplerPubResult(qp.DataBin(x=x, a=qba)), None),
        (SamplerPubResult(DataBin(n=3)), qp.SamplerPubResult(qp.DataBin(n=3)), None),
    ]
    for o, r, names in cases:
        assert exc_of(lambda o=o, n=names: o.join_data(n)) == exc_of(
            lambda r=r, n=names: r.join_data(n)
        )


# --- PrimitiveResult ---------------------------------------------------------------------------


def test_primitive_result_like_qiskit() -> None:
    pubs = [PubResult(DataBin(x=i), {"i": i}) for i in range(3)]
    qpubs = [qp.PubResult(qp.DataBin(x=i), {"i": i}) for i in range(3)]
    ours = PrimitiveResult(iter(pubs), {"version": 2})
    ref = qp.PrimitiveResult(iter(qpubs), {"version": 2})
    assert repr(ours) == repr(ref)
    assert repr(PrimitiveResult([])) == repr(qp.PrimitiveResult([]))
    assert len(ours) == 3 and ours[1] is pubs[1] and ours[-1] is pubs[2]
    assert ours[1:] == pubs[1:] and type(ours[1:]) is list
    assert list(ours) == pubs and ours.metadata == {"version": 2}
    assert exc_of(lambda: ours[5]) == exc_of(lambda: ref[5])
    with pytest.raises(AttributeError):
        ours.metadata = {}  # type: ignore[misc]
    typed = PrimitiveResult[SamplerPubResult]([SamplerPubResult(DataBin())])
    assert len(typed) == 1
    clone = pickle.loads(pickle.dumps(ours))
    assert len(clone) == 3 and clone[2].metadata == {"i": 2} and clone.metadata == {"version": 2}
