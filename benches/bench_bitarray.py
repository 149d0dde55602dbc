"""shotpack's BitArray against Qiskit's, side by side (medians of alternating runs).

Run: ``python benches/bench_bitarray.py`` (build the extension with the release profile first:
``pip install --no-build-isolation -e .``). Ratios are Qiskit time / shotpack time. Each case
runs in a fresh process (``--case N`` runs case N alone).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from qiskit.primitives import BitArray as QBitArray

from _timing import MIN_RUNS, emit_rows, median_time, pair_times, report, run_cases
from shotpack import BitArray


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (median)")
    parser.add_argument("--case", type=int, help="run only case N (in this process)")
    args = parser.parse_args()
    r = args.repeat
    if args.case is None:
        report(run_cases(__file__, None, sys.argv[1:]))
        print(f"medians of {r} runs (Qiskit's per-shot Python loops: {max(MIN_RUNS, r // 2)})")
        return
    rng = np.random.default_rng(1234)
    index = 0

    def case(name: str, theirs, ours, target: float | None = None, slow: bool = False) -> None:
        # Only the selected case runs; its process ends right after it.
        nonlocal index
        index += 1
        if index - 1 != args.case:
            return
        # Qiskit's slow Python loops get fewer runs (never fewer than MIN_RUNS).
        anchor, mine = pair_times(theirs, ours, repeat=r, anchor_repeat=r // 2 if slow else r)
        emit_rows([(name, anchor, mine, target)])
        raise SystemExit(0)

    # IQM-style nested lists: measurements[circuit][key] is [shot][qubit] of ints.
    lists = rng.integers(0, 2, (200_000, 20)).tolist()
    case(
        "from_bool_array(nested lists 200k x 20, order=little)",
        lambda: QBitArray.from_bool_array(lists, order="little"),
        lambda: BitArray.from_bool_array(lists, order="little"),
        15,
    )

    bits20 = rng.integers(0, 2, (200_000, 20)).astype(bool)
    q20, o20 = QBitArray.from_bool_array(bits20), BitArray.from_bool_array(bits20)
    case("get_counts 200k x 20, uniform", q20.get_counts, o20.get_counts, 15, slow=True)
    outcomes = rng.integers(0, 2, (16, 20)).astype(bool)[rng.integers(0, 16, 200_000)]
    q16, o16 = QBitArray.from_bool_array(outcomes), BitArray.from_bool_array(outcomes)
    case("get_counts 200k x 20, 16 distinct outcomes", q16.get_counts, o16.get_counts, 100)
    case("get_int_counts 200k x 20, uniform", q20.get_int_counts, o20.get_int_counts, slow=True)
    case("get_bitstrings 200k x 20, uniform", q20.get_bitstrings, o20.get_bitstrings, slow=True)

    strings = o20.get_bitstrings()[:100_000]
    case(
        "from_samples 100k bitstrings, 20 bits",
        lambda: QBitArray.from_samples(strings, 20),
        lambda: BitArray.from_samples(strings, 20),
    )
    ints = [int(s, 2) for s in strings]
    case(
        "from_samples 100k ints, 20 bits",
        lambda: QBitArray.from_samples(ints, 20),
        lambda: BitArray.from_samples(ints, 20),
    )
    counts = o20.get_counts()
    case(
        f"from_counts ({len(counts)} keys, 200k shots)",
        lambda: QBitArray.from_counts(counts, 20),
        lambda: BitArray.from_counts(counts, 20),
    )

    bools64 = rng.integers(0, 2, (1_000_000, 64), dtype=np.uint8).astype(bool)
    case(
        "from_bool_array(ndarray 1M x 64 bool, order=little)",
        lambda: QBitArray.from_bool_array(bools64, order="little"),
        lambda: BitArray.from_bool_array(bools64, order="little"),
    )
    q64, o64 = QBitArray.from_bool_array(bools64), BitArray.from_bool_array(bools64)
    case("to_bool_array 1M x 64", q64.to_bool_array, o64.to_bool_array)
    case("bitcount 1M x 64", q64.bitcount, o64.bitcount)
    picks = list(range(0, 64, 3))
    case(
        f"slice_bits ({len(picks)} of 64 bits) 1M x 64",
        lambda: q64.slice_bits(picks),
        lambda: o64.slice_bits(picks),
    )
    case(
        "postselect([0, 5, 63], [1, 0, 1]) 1M x 64",
        lambda: q64.postselect([0, 5, 63], [1, 0, 1]),
        lambda: o64.postselect([0, 5, 63], [1, 0, 1]),
    )
    q20m = QBitArray.from_bool_array(rng.integers(0, 2, (1_000_000, 20)).astype(bool))
    o20m = BitArray(q20m.array, 20)
    case(
        "concatenate_bits(1M x 64, 1M x 20)",
        lambda: QBitArray.concatenate_bits([q64, q20m]),
        lambda: BitArray.concatenate_bits([o64, o20m]),
    )

    # Kernels near the limit (issue 13): each beside NumPy's best equivalent and beside a limit
    # measured in the same process (a popcount pass over 64-bit words, or a streaming pass that
    # reads every word once and writes a fresh output word per shot). shotpack's kernels run on
    # one thread here, as the limits do (slice_bits: one BMI2 PEXT per shot where the CPU has a
    # fast one, see rust/core/src/pack/pext.rs).
    def kernel(name: str, numpy_fn, limit_fn, limit_name: str, ours) -> None:
        nonlocal index
        index += 1
        if index - 1 != args.case:
            return
        t_np, t_o = pair_times(numpy_fn, ours, repeat=r)
        t_lim, t_o2 = pair_times(limit_fn, ours, repeat=r)
        emit_rows(
            [(f"{name} vs NumPy", t_np, t_o, 1), (f"  vs limit: {limit_name}", t_lim, t_o2, 0.5)]
        )
        raise SystemExit(0)

    words = q64.array.view(np.uint64).reshape(-1)  # native order: bit k of a shot is bit
    n64 = words.shape[0]  # 8 * (7 - k // 8) + k % 8 of its word on a little-endian machine

    def word_bit(k: int) -> np.uint64:
        pos = 8 * (7 - k // 8) + k % 8 if sys.byteorder == "little" else k
        return np.uint64(1) << np.uint64(pos)

    def popcount_pass():
        return np.bitwise_count(words, out=np.empty(n64, np.uint64))

    def stream_pass():
        return np.bitwise_and(words, np.uint64(0x5555_5555), out=np.empty(n64, np.uint64))

    np.testing.assert_array_equal(o64.bitcount(), np.bitwise_count(q64.array).sum(axis=1))
    kernel(
        "bitcount 1M x 64",
        lambda: np.bitwise_count(words).astype(np.uint64),
        popcount_pass,
        "popcount of each 64-bit word into uint64",
        o64.bitcount,
    )
    cols = 63 - np.asarray(picks[::-1])  # unpackbits columns, most significant first

    def numpy_slice():
        return np.packbits(np.unpackbits(q64.array, axis=1)[:, cols], axis=1)

    kernel(
        f"slice_bits ({len(picks)} of 64 bits) 1M x 64",
        numpy_slice,
        stream_pass,
        "one AND per 64-bit word into uint64",
        lambda: o64.slice_bits(picks),
    )
    sel_mask = word_bit(0) | word_bit(5) | word_bit(63)
    sel_want = word_bit(0) | word_bit(63)

    def numpy_postselect():
        return q64.array[(words & sel_mask) == sel_want]

    np.testing.assert_array_equal(o64.postselect([0, 5, 63], [1, 0, 1]).array, numpy_postselect())
    kernel(
        "postselect([0, 5, 63], [1, 0, 1]) 1M x 64",
        numpy_postselect,
        stream_pass,
        "one AND per 64-bit word into uint64",
        lambda: o64.postselect([0, 5, 63], [1, 0, 1]),
    )

    # No cliff above 128 bits (issue 13): ints of 200 bits beside strings of the same outcomes.
    wide = BitArray(rng.integers(0, 256, (200_000, 25), dtype=np.uint8), 200)
    case(
        "get_int_counts 200k x 200 bits (anchor: get_counts, same data)",
        wide.get_counts,
        wide.get_int_counts,
    )

    # The CPython floors of the counts dicts (issue 13: within 1.2x of them). What CPython itself
    # needs to hold the uniform result: inserting the very same (already made, already hashed)
    # keys with their counts into a fresh dict, in first-occurrence order, plus making that many
    # new keys (strs from bytes, or ints from a uint64 array). Any function returning these dicts
    # pays at least this; each floor alternates with shotpack's call in the same process.
    def floor_case(name: str, keys: list, make_keys, ours) -> None:
        nonlocal index
        index += 1
        if index - 1 != args.case:
            return
        result = ours()
        values = [result[k] for k in keys]

        def floor() -> None:
            dict(zip(keys, values, strict=True))
            make_keys()

        t_floor, t_o = pair_times(floor, ours, repeat=max(r, 9))
        insert = median_time(lambda: dict(zip(keys, values, strict=True)), repeat=max(r, 9))
        # Lower still, for information: inserts into a dict presized to its final size
        # (`dict.fromkeys` of a set; no counts, no order), which no public C API offers.
        keyset = set(keys)
        presized = median_time(lambda: dict.fromkeys(keyset), repeat=max(r, 9))
        make = median_time(make_keys, repeat=max(r, 9))
        print(
            f"{name}: {len(keys)} keys; floor = dict inserts {insert * 1e3:.1f} ms + new keys "
            f"{make * 1e3:.1f} ms (presized inserts without order or counts: "
            f"{presized * 1e3:.1f} ms)"
        )
        # ratio = floor / shotpack; at least 1 / 1.2 means shotpack is within 1.2x of the floor.
        emit_rows([(f"{name} vs CPython floor", t_floor, t_o, 1 / 1.2)])
        raise SystemExit(0)

    uniform = o20.get_counts()
    encoded = [k.encode() for k in uniform]
    floor_case(
        "get_counts 200k x 20, uniform",
        list(uniform),
        lambda: list(map(bytes.decode, encoded)),
        o20.get_counts,
    )
    int_keys = list(o20.get_int_counts())
    int_array = np.array(int_keys, dtype=np.uint64)
    floor_case("get_int_counts 200k x 20, uniform", int_keys, int_array.tolist, o20.get_int_counts)

    if args.case != index:
        emit_rows([])  # past the last case
        return
    # What CPython itself needs to hold the uniform result: re-inserting the very same (already
    # hashed) str keys into a fresh dict, and making that many new 20-character strs. Any
    # get_counts that returns a real dict pays at least this, so it bounds the reachable ratio
    # (this row's ratio: Qiskit's uniform get_counts over that floor).
    uniform = o20.get_counts()
    keys, values = list(uniform), list(uniform.values())
    encoded = [k.encode() for k in keys]
    insert = median_time(lambda: dict(zip(keys, values, strict=True)), repeat=max(MIN_RUNS, r))
    make = median_time(lambda: list(map(bytes.decode, encoded)), repeat=max(MIN_RUNS, r))
    qiskit_uniform = median_time(q20.get_counts, repeat=MIN_RUNS)
    print(
        f"CPython floor for the uniform get_counts ({len(keys)} keys): dict inserts of existing "
        f"keys {insert * 1e3:.1f} ms + {len(keys)} new strs {make * 1e3:.1f} ms -> at most "
        f"{qiskit_uniform / (insert + make):.0f}x vs Qiskit for any function returning a dict"
    )
    emit_rows([("  CPython floor of get_counts uniform (Qiskit / floor)", qiskit_uniform,
                insert + make, None)])  # fmt: skip


if __name__ == "__main__":
    main()
