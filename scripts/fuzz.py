"""Long fuzz runs of the native measurements-JSON parser against ``json.loads``.

Each input is a measurements body, either generated (random circuits, keys, shots and spellings)
or a valid body with one to three byte edits. Both ``registers`` modes are parsed, and each result
is compared with an oracle built on ``json.loads``: the parse must succeed exactly when the body
is a valid measurements document (and, with ``registers=True``, its keys form valid Qiskit-on-IQM
registers within the output cap), and then every packed array must equal the oracle's bytes.

A worker subprocess does the parsing, so an interpreter death (a crash) or a stall (a hang) is
seen by the parent, which records it and restarts the worker after the batch that failed.

Usage::

    python scripts/fuzz.py --inputs 10000000            # stop after that many inputs
    python scripts/fuzz.py --seconds 900 --seed 7       # or after that much wall time

Prints progress and, at the end, ``inputs``, ``crashes``, ``hangs`` and ``disagreements`` (the
first disagreements are printed in full, with the body, for reproduction); exits 1 if any of the
last three is nonzero.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
from typing import Any

# Mirrors of the native parser's documented limits (rust/core/src/registers.rs, json/mod.rs).
MAX_REGISTER_BITS = 1 << 20
OUTPUT_CAP_FACTOR = 64
OUTPUT_CAP_FLOOR = 64 << 20
USIZE_MAX = (1 << 64) - 1
QISKIT_KEY = re.compile(r"^(.*)_([0-9]+)_([0-9]+)_([0-9]+)\Z", re.DOTALL)

Batch = list[dict[str, list[list[int]]]]
Field = tuple[str, int, int, bytes]  # name, shots, num_bits, packed bytes


# ---- the oracle ----------------------------------------------------------------------------


def strict_loads(body: bytes) -> Batch | None:
    """``json.loads`` held to the measurements shape: bits are the tokens ``0``/``1`` only, no
    duplicate keys, shots of one width. ``None`` when the body breaks any of these."""

    def bit(token: str) -> int:
        if token not in ("0", "1"):
            raise ValueError(token)
        return int(token)

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        if len({k for k, _ in pairs}) != len(pairs):
            raise ValueError("duplicate key")
        return dict(pairs)

    def refuse(token: str) -> object:
        raise ValueError(token)

    try:
        # UTF-8 as RFC 8259 requires of exchanged JSON (json.loads would also guess UTF-16/32).
        batch = json.loads(
            body.decode("utf-8"),
            parse_int=bit,
            parse_float=refuse,
            parse_constant=refuse,
            object_pairs_hook=unique,
        )
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(batch, list) or not all(isinstance(c, dict) for c in batch):
        return None
    for circuit in batch:
        for shots in circuit.values():
            if not isinstance(shots, list) or not all(isinstance(s, list) for s in shots):
                return None
            if len({len(s) for s in shots}) > 1:
                return None
            if not all(type(b) is int for s in shots for b in s):
                return None
    return batch


def pack_rows(shots: list[list[int]], width: int) -> bytes:
    """Column j -> bit j of each row, big-endian bytes per row (Qiskit's layout)."""
    nb = (width + 7) // 8
    out = bytearray()
    for row in shots:
        value = 0
        for j, b in enumerate(row):
            value |= b << j
        out += value.to_bytes(nb, "big")
    return bytes(out)


def expected_keys(batch: Batch) -> list[list[Field]]:
    out = []
    for circuit in batch:
        fields = []
        for key, shots in circuit.items():
            width = len(shots[0]) if shots else 0
            fields.append((key, len(shots), width, pack_rows(shots, width)))
        out.append(fields)
    return out


def expected_registers(batch: Batch, body_len: int) -> list[list[Field]] | None:
    """The registers of every circuit, or ``None`` when the native parse must refuse them."""
    out = []
    total = 0
    for circuit in batch:
        regs: dict[int, dict[str, Any]] = {}
        for key, shots in circuit.items():
            m = QISKIT_KEY.match(key)
            if m is None:
                return None
            creg, length, idx, clbit = m.group(1), *map(int, m.group(2, 3, 4))
            if max(length, idx, clbit) > USIZE_MAX or length > MAX_REGISTER_BITS:
                return None
            if clbit >= length:
                return None
            width = len(shots[0]) if shots else 0
            if shots and width != 1:
                return None
            reg = regs.get(idx)
            if reg is None:
                regs[idx] = {"name": creg, "len": length, "shots": len(shots), "bits": {}}
                reg = regs[idx]
            elif reg["name"] != creg or reg["len"] != length or reg["shots"] != len(shots):
                return None
            if clbit in reg["bits"]:
                return None
            reg["bits"][clbit] = [s[0] for s in shots]
        names = [r["name"] for r in regs.values()]
        if len(set(names)) != len(names):
            return None
        fields = []
        for idx in sorted(regs):
            reg = regs[idx]
            nb = (reg["len"] + 7) // 8
            total += reg["shots"] * nb
            rows = []
            for s in range(reg["shots"]):
                value = 0
                for clbit, bits in reg["bits"].items():
                    value |= bits[s] << clbit
                rows.append(value.to_bytes(nb, "big"))
            fields.append((reg["name"], reg["shots"], reg["len"], b"".join(rows)))
        out.append(fields)
    if total > max(OUTPUT_CAP_FACTOR * body_len, OUTPUT_CAP_FLOOR):
        return None
    return out


def native_fields(raw: list[list[tuple[str, Any, int]]]) -> list[list[Field]]:
    return [
        [(name, arr.shape[0], bits, arr.tobytes()) for name, arr, bits in circuit]
        for circuit in raw
    ]


def check(body: bytes) -> str | None:
    """Parses ``body`` in both modes; returns a description of any disagreement."""
    from shotpack import _native

    batch = strict_loads(body)
    for registers in (False, True):
        want: list[list[Field]] | None
        if batch is None:
            want = None
        elif registers:
            want = expected_registers(batch, len(body))
        else:
            want = expected_keys(batch)
        # The same parse with every value split into pieces of a few bytes (as large bodies
        # are split across threads) must give the same arrays, or the very same error.
        piece = 1 + len(body) % 41
        try:
            split: object = native_fields(
                _native.parse_measurements_json(body, registers=registers, piece_bytes=piece)
            )
        except Exception as exc:
            split = f"{type(exc).__name__}: {exc}"
        try:
            got = native_fields(_native.parse_measurements_json(body, registers=registers))
        except ValueError as exc:
            if split != f"{type(exc).__name__}: {exc}":
                return f"registers={registers}: pieces of {piece} bytes: {split!r} vs {exc}"
            if want is not None:
                return f"registers={registers}: refused a valid body: {exc}"
            continue
        except Exception as exc:
            return f"registers={registers}: {type(exc).__name__}: {exc}"
        if split != got:
            return f"registers={registers}: pieces of {piece} bytes: {split!r} vs {got!r}"
        if want is None:
            return f"registers={registers}: accepted an invalid body"
        if got != want:
            return f"registers={registers}: values differ: got {got!r}, want {want!r}"
    return None


# ---- inputs --------------------------------------------------------------------------------

KEY_POOL = [
    "m",
    "meas",
    "",
    "c_1_0_0",
    "c_2_0_1",
    "c_2_0_0",
    "c_3_1_2",
    "c_9_1_0",
    "d_1_0_0",
    "a_b_2_3_1",
    "q_1048576_0_7",
    "q_1048577_0_0",
    "c_0_0_0",
    "c_2_0_2",
    "_1_0_0",
    "c_01_0_0",
    "c_\u00b2_0_0",
    "\u00e9_1_2_0",
    'k"q',
    "tab\t",
    "\\u0041",
    "c_18446744073709551616_0_0",
]
SPACES = ["", " ", "\n", "\r\n  ", "\t"]
EDIT_BYTES = b'01 2,][{}"e.-tnu\\\x00\xff\xc3'


def spell(obj: object, rnd: random.Random) -> str:
    """Serialises with random JSON whitespace between tokens."""
    if type(obj) is int:
        return "1" if obj else "0"
    ws = SPACES[rnd.randrange(len(SPACES))] if rnd.random() < 0.3 else ""
    if isinstance(obj, list) and obj and obj[0] in (0, 1) and rnd.random() < 0.7:
        # A shot: compact or json.dumps spelling, the two the server and Qiskit-on-IQM send.
        return (
            "[" + (", " if rnd.random() < 0.5 else ",").join("1" if b else "0" for b in obj) + "]"
        )
    if isinstance(obj, list):
        sep = "," + (" " if rnd.random() < 0.5 else ws)
        return "[" + ws + sep.join(spell(x, rnd) for x in obj) + ws + "]"
    if isinstance(obj, dict):
        items = [
            json.dumps(k, ensure_ascii=rnd.random() < 0.5) + ws + ":" + ws + spell(v, rnd)
            for k, v in obj.items()
        ]
        return "{" + ws + ("," + ws).join(items) + ws + "}"
    return json.dumps(obj)


def qiskit_circuit(rnd: random.Random) -> dict[str, list[list[int]]]:
    """Keys of one to three Qiskit-on-IQM registers (usually valid ones)."""
    circuit = {}
    shots = rnd.choice((0, 1, 2, 3, 5, 9))
    for idx in range(rnd.randint(1, 3)):
        name = rnd.choice(("c", "meas", "a_b", "r", ""))
        length = rnd.choice((1, 2, 3, 8, 9, 17))
        for clbit in rnd.sample(range(length), rnd.randint(1, min(length, 4))):
            n = shots if rnd.random() < 0.97 else shots + 1
            circuit[f"{name}_{length}_{idx}_{clbit}"] = [[rnd.getrandbits(1)] for _ in range(n)]
    return circuit


def generate(rnd: random.Random) -> Batch:
    if rnd.random() < 0.4:
        return [qiskit_circuit(rnd) for _ in range(rnd.choice((1, 1, 2, 3)))]
    batch = []
    for _ in range(rnd.choice((0, 1, 1, 2, 3))):
        circuit = {}
        for _ in range(rnd.randrange(5)):
            key = rnd.choice(KEY_POOL) if rnd.random() < 0.8 else f"r_{rnd.randrange(1, 20)}_0_0"
            shots = rnd.choice((0, 1, 2, 3, 5, 9))
            width = 1 if rnd.random() < 0.6 else rnd.randrange(0, 12)
            circuit[key] = [[rnd.getrandbits(1) for _ in range(width)] for _ in range(shots)]
        batch.append(circuit)
    return batch


def make_input(seed: int, index: int) -> bytes:
    rnd = random.Random(seed * 1_000_003 + index)
    body = bytearray(spell(generate(rnd), rnd).encode())
    kind = rnd.random()
    if kind < 0.5:
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(body) + 1)
            op = rnd.randrange(4)
            byte = EDIT_BYTES[rnd.randrange(len(EDIT_BYTES))]
            if op == 0 and at < len(body):
                body[at] = byte
            elif op == 1:
                body.insert(at, byte)
            elif op == 2 and at < len(body):
                del body[at]
            elif op == 3:
                del body[at:]
    elif kind < 0.52:
        body = bytearray(rnd.randbytes(rnd.randrange(12)))
    return bytes(body)


# ---- worker and driver ---------------------------------------------------------------------

BATCH = 2000


def worker(seed: int, start: int, stop: int) -> None:
    """Checks inputs ``start..stop``; prints ``ok N`` after each batch, ``bad I MSG`` lines."""
    for i in range(start, stop):
        problem = check(make_input(seed, i))
        if problem is not None:
            print(f"bad {i} {json.dumps(problem)}", flush=True)
        if (i + 1 - start) % BATCH == 0 or i + 1 == stop:
            print(f"ok {i + 1}", flush=True)


def drive(seed: int, inputs: int, seconds: float, hang_seconds: float) -> int:
    t0 = time.monotonic()
    done = crashes = hangs = 0
    bad: list[tuple[int, str]] = []
    next_report = t0 + 30
    while done < inputs and time.monotonic() - t0 < seconds:
        stop = min(inputs, done + 200 * BATCH)
        cmd = [sys.executable, __file__, "--worker", str(seed), str(done), str(stop)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        last = time.monotonic()
        while True:
            if not sel.select(timeout=hang_seconds):
                hangs += 1
                proc.kill()
                proc.wait()
                print(f"hang in inputs {done}..{done + BATCH} (seed {seed})", flush=True)
                done += BATCH
                break
            line = proc.stdout.readline()
            if not line:
                code = proc.wait()
                if code != 0:
                    crashes += 1
                    print(f"crash (exit {code}) in inputs {done}..{done + BATCH}", flush=True)
                    done += BATCH
                break
            tag, rest = line.split(" ", 1)
            if tag == "ok":
                done = int(rest)
                last = time.monotonic()
            else:
                i, msg = rest.split(" ", 1)
                bad.append((int(i), json.loads(msg)))
                if len(bad) <= 10:
                    print(f"disagreement at input {i}: {bad[-1][1]}", flush=True)
            if time.monotonic() - t0 > seconds:
                proc.kill()
                proc.wait()
                break
            if last > next_report:
                rate = done / (last - t0)
                print(f"{done} inputs, {rate:.0f}/s, {len(bad)} disagreements", flush=True)
                next_report = last + 30
        sel.close()
    for i, msg in bad[:10]:
        print(f"disagreement at input {i}: {msg}\n  body: {make_input(seed, i)!r}", flush=True)
    elapsed = time.monotonic() - t0
    print(
        f"inputs {done}, crashes {crashes}, hangs {hangs}, disagreements {len(bad)} "
        f"({elapsed:.0f} s, seed {seed}, {2 * done} parse calls)"
    )
    return 1 if crashes or hangs or bad else 0


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(*map(int, sys.argv[2:]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=10**12, help="stop after this many inputs")
    ap.add_argument("--seconds", type=float, default=float("inf"), help="stop after this long")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hang-seconds", type=float, default=60.0, help="a batch slower is a hang")
    args = ap.parse_args()
    if args.inputs == 10**12 and args.seconds == float("inf"):
        ap.error("give --inputs or --seconds")
    return drive(args.seed, args.inputs, args.seconds, args.hang_seconds)


if __name__ == "__main__":
    sys.exit(main())
