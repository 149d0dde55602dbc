"""Statevector simulator of IQM's native circuit operations.

The simulator runs one circuit for a number of shots and returns, per measurement key, a
``uint8[shots, len(locus)]`` array of measured bits, the layout of the IQM measurements artifact.

How shots are simulated, without a per-shot Python loop:

* The state covers only the qubits the circuit acts on (not barrier/delay-only components), so a
  3-qubit circuit on a 20-qubit device costs a 3-qubit statevector.
* A measurement is *terminal* when nothing but ``measure``/``barrier``/``delay`` touches its
  qubits afterwards and no ``cc_prx`` reads its feedback. Terminal measurements are deferred and
  sampled at the end from the final distribution, all shots at once (the fast path that makes a
  1M-shot job cheap).
* Every other measurement (and every ``reset``) splits the shots: the group of shots sharing one
  statevector (a *branch*) is divided by a multinomial draw over the outcomes, and each non-empty
  outcome becomes a new branch with the collapsed state. This samples the exact joint
  distribution, one qubit at a time, and the number of branches is bounded by the number of
  shots and by ``2**(dynamic measurements)``; a memory budget bounds the total state size.
* ``cc_prx`` applies its rotation to the branches whose recorded feedback bit is 1.
* Readout error flips each reported bit independently with the qubit's probability. A
  mid-circuit measurement's feedback uses the reported (possibly flipped) bit, as hardware does.

Finally shots are shuffled, so the branch grouping leaves no trace in the shot order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "SUPPORTED_OPS",
    "CircuitResult",
    "NativeOp",
    "SimulationCancelled",
    "SimulationError",
    "one_qubit_matrix",
    "prx_matrix",
    "simulate_circuit",
]

#: Operations that act on no quantum state.
_NO_OPS = frozenset({"barrier", "delay"})
#: Single-qubit unitaries (``rz``, ``sx`` and ``u`` need no calibration on IQM hardware).
_ONE_QUBIT = frozenset({"prx", "rz", "sx", "u"})
#: Shots per block when turning sampled outcomes into bits (bounds the temporaries).
_BLOCK_SHOTS = 1 << 20
#: Operations the simulator understands.
SUPPORTED_OPS = _ONE_QUBIT | {"cc_prx", "cz", "measure", "reset", "barrier", "delay"}


class SimulationError(ValueError):
    """The circuit cannot be simulated (unsupported operation, size limit, bad feedback)."""


class SimulationCancelled(Exception):
    """Raised inside the simulation when the job was cancelled meanwhile."""


@dataclass(frozen=True)
class NativeOp:
    """One native operation of a circuit, with physical component names.

    Args:
        name: Operation name (``prx``, ``cz``, ``measure``, ...).
        locus: Components the operation acts on, in order.
        args: Operation arguments (``angle``/``phase`` in radians, ``key``, ``feedback_key``,
            ``feedback_qubit``, ``duration``).
    """

    name: str
    locus: tuple[str, ...]
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class CircuitResult:
    """Measured bits of one circuit.

    Attributes:
        keys: Measurement keys in instruction order.
        bits: ``key -> uint8[shots, len(locus)]`` (row = shot, column = locus component).
        shots: Number of shots returned (fewer than requested only with heralding).
    """

    keys: list[str]
    bits: dict[str, np.ndarray]
    shots: int


def prx_matrix(angle: float, phase: float) -> np.ndarray:
    """Unitary of ``prx(angle, phase) = exp(-i angle/2 (cos(phase) X + sin(phase) Y))``.

    Args:
        angle: Rotation angle in radians.
        phase: Rotation axis angle in the XY plane, in radians.

    Returns:
        The 2x2 complex unitary.

    Example:
        >>> np.allclose(prx_matrix(np.pi, 0.0), [[0, -1j], [-1j, 0]])
        True
    """
    c = math.cos(angle / 2)
    s = math.sin(angle / 2)
    return np.array(
        [[c, -1j * s * np.exp(-1j * phase)], [-1j * s * np.exp(1j * phase), c]],
        dtype=np.complex128,
    )


def one_qubit_matrix(op: NativeOp) -> np.ndarray:
    """Unitary of a single-qubit operation (``prx``, ``rz``, ``sx``, ``u``).

    ``rz(angle) = exp(-i angle Z / 2)``; ``sx`` is the square root of X; ``u(theta, phi, lam)`` is
    the OpenQASM 3 ``U`` gate.

    Args:
        op: The operation.

    Returns:
        The 2x2 complex unitary.
    """
    a = op.args
    if op.name == "prx":
        return prx_matrix(float(a["angle"]), float(a["phase"]))
    if op.name == "rz":
        half = float(a["angle"]) / 2
        return np.array([[np.exp(-1j * half), 0], [0, np.exp(1j * half)]], dtype=np.complex128)
    if op.name == "sx":
        return 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]], dtype=np.complex128)
    if op.name == "u":
        theta, phi, lam = float(a["theta"]), float(a["phi"]), float(a["lam"])
        c, s = math.cos(theta / 2), math.sin(theta / 2)
        return np.array(
            [
                [c, -np.exp(1j * lam) * s],
                [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c],
            ],
            dtype=np.complex128,
        )
    raise SimulationError(f"{op.name!r} is not a single-qubit unitary")


@dataclass
class _Branches:
    """Groups of shots that share one statevector.

    ``state`` is ``complex128[B, 2**n]`` with qubit 0 the most significant index bit; ``counts`` the
    shots per branch; ``records`` the reported bits of dynamic measurements per branch
    (``key -> uint8[B, k]``); ``feedback`` the reported bits per ``(feedback_key, qubit)``.
    """

    n: int
    state: np.ndarray
    counts: np.ndarray
    records: dict[str, np.ndarray]
    feedback: dict[tuple[str, int], np.ndarray]

    def view(self, qubit: int) -> np.ndarray:
        """The state as ``[B, 2**qubit, 2, rest]`` so axis 2 is ``qubit``."""
        return self.state.reshape(len(self.counts), 1 << qubit, 2, -1)

    def select(self, rows: np.ndarray) -> None:
        """Keep (and duplicate) branches by index; copies the states."""
        self.state = self.state[rows]
        self.records = {k: v[rows] for k, v in self.records.items()}
        self.feedback = {k: v[rows] for k, v in self.feedback.items()}


def _apply_1q(view: np.ndarray, u: np.ndarray) -> None:
    """Apply a 2x2 unitary in place along axis 2 of a ``[B, left, 2, right]`` view."""
    a0 = view[:, :, 0, :].copy()
    a1 = view[:, :, 1, :]
    view[:, :, 0, :] = u[0, 0] * a0 + u[0, 1] * a1
    view[:, :, 1, :] = u[1, 0] * a0 + u[1, 1] * a1


def _apply_cz(br: _Branches, q1: int, q2: int) -> None:
    shaped = br.state.reshape((len(br.counts),) + (2,) * br.n)
    index: list[Any] = [slice(None)] * (br.n + 1)
    index[q1 + 1] = 1
    index[q2 + 1] = 1
    shaped[tuple(index)] *= -1


def _split(
    br: _Branches,
    qubit: int,
    rng: np.random.Generator,
    error: float,
    max_state_bytes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Measure ``qubit`` projectively in every branch, dividing each branch's shots.

    Returns:
        ``(true, reported)`` bits per new branch; the branches are collapsed and renormalised.
    """
    b = len(br.counts)
    view = br.view(qubit)
    probs = np.einsum("blkr,blkr->bk", view, view.conj()).real
    probs = np.clip(probs, 0.0, None)
    probs /= probs.sum(axis=1, keepdims=True)
    # Categories (true, reported): 0=(0,0) 1=(0,1) 2=(1,0) 3=(1,1).
    pvals = np.empty((b, 4))
    pvals[:, 0] = probs[:, 0] * (1 - error)
    pvals[:, 1] = probs[:, 0] * error
    pvals[:, 2] = probs[:, 1] * error
    pvals[:, 3] = probs[:, 1] * (1 - error)
    pvals /= pvals.sum(axis=1, keepdims=True)
    split = rng.multinomial(br.counts, pvals)
    rows, cats = np.nonzero(split)
    new_b = len(rows)
    if new_b * br.state.shape[1] * 16 > max_state_bytes:
        raise SimulationError(
            f"the circuit needs {new_b} simultaneous statevectors of {br.n} qubits after a "
            f"mid-circuit measurement, over the simulator's memory budget of "
            f"{max_state_bytes // 2**20} MiB; use fewer shots, qubits or mid-circuit measurements"
        )
    true = (cats >> 1).astype(np.uint8)
    reported = (cats & 1).astype(np.uint8)
    norms = np.sqrt(probs[rows, true])
    br.counts = split[rows, cats]
    br.select(rows)
    view = br.view(qubit)
    view[np.arange(new_b), :, 1 - true, :] = 0
    br.state /= norms[:, None]
    return true, reported


def _terminal_flags(ops: Sequence[NativeOp]) -> list[bool]:
    """For each op, whether it is a measurement that can be deferred to the end."""
    flags = [False] * len(ops)
    touched_later: set[str] = set()
    feedback_used_later: set[tuple[str, str]] = set()
    for i in range(len(ops) - 1, -1, -1):
        op = ops[i]
        if op.name == "measure":
            fb_key = op.args.get("feedback_key")
            used = fb_key is not None and any((fb_key, q) in feedback_used_later for q in op.locus)
            flags[i] = not used and not (set(op.locus) & touched_later)
        elif op.name == "cc_prx":
            feedback_used_later.add((str(op.args["feedback_key"]), str(op.args["feedback_qubit"])))
            touched_later.update(op.locus)
        elif op.name not in _NO_OPS:
            touched_later.update(op.locus)
    return flags


def _error_of(readout_error: float | Mapping[str, float], name: str) -> float:
    if isinstance(readout_error, Mapping):
        return float(readout_error.get(name, 0.0))
    return float(readout_error)


def simulate_circuit(
    ops: Sequence[NativeOp],
    shots: int,
    rng: np.random.Generator,
    *,
    readout_error: float | Mapping[str, float] = 0.0,
    heralding: bool = False,
    max_qubits: int = 20,
    max_state_bytes: int = 1 << 30,
    should_cancel: Callable[[], bool] | None = None,
) -> CircuitResult:
    """Simulate one circuit of native operations for ``shots`` shots.

    Args:
        ops: The circuit's operations in order, with physical component names.
        shots: Number of shots (>= 0).
        rng: Random generator; results are reproducible for a seeded generator.
        readout_error: Probability of flipping a reported bit, one value for all qubits or a
            mapping from qubit name to probability (missing qubits: 0).
        heralding: Emulate ``heralding_mode="zeros"``: a heralding readout of every circuit qubit
            precedes each shot, and shots in which any herald reads 1 (only possible through
            readout error) are discarded, so fewer shots may be returned.
        max_qubits: Largest statevector allowed, in qubits.
        max_state_bytes: Budget for all simultaneous statevectors of mid-circuit branches.
        should_cancel: Polled between operations; when it returns True the simulation stops
            with :class:`SimulationCancelled`.

    Returns:
        The measured bits per key.

    Raises:
        SimulationError: Unsupported operation, too many qubits, a feedback bit read before it
            was measured, a duplicate key, or the memory budget exceeded.
        SimulationCancelled: ``should_cancel`` returned True.

    Example:
        >>> ops = [NativeOp("prx", ("QB1",), {"angle": np.pi, "phase": 0.0}),
        ...        NativeOp("measure", ("QB1",), {"key": "m"})]
        >>> simulate_circuit(ops, 3, np.random.default_rng(1)).bits["m"].tolist()
        [[1], [1], [1]]
    """
    # Components that carry quantum state, in order of first use.
    index: dict[str, int] = {}
    keys: list[str] = []
    for i, op in enumerate(ops):
        if op.name not in SUPPORTED_OPS:
            raise SimulationError(
                f"operation {op.name!r} is not supported by the simulator (supported: "
                f"{', '.join(sorted(SUPPORTED_OPS))})"
            )
        arity = 1 if op.name in _ONE_QUBIT or op.name == "cc_prx" else 2 if op.name == "cz" else 0
        if (arity and len(op.locus) != arity) or len(set(op.locus)) != len(op.locus):
            raise SimulationError(f"instruction {i}: bad locus {list(op.locus)} for {op.name!r}")
        if op.name == "measure":
            key = str(op.args["key"])
            if key in keys:
                raise SimulationError(f"instruction {i}: measurement key {key!r} is used twice")
            keys.append(key)
        if op.name not in _NO_OPS:
            for name in op.locus:
                index.setdefault(name, len(index))
        if op.name == "cc_prx":
            index.setdefault(str(op.args["feedback_qubit"]), len(index))
    n = len(index)
    if n > max_qubits:
        raise SimulationError(
            f"the circuit acts on {n} qubits; the simulator is limited to {max_qubits}"
        )
    if (1 << n) * 16 > max_state_bytes:
        raise SimulationError(f"a {n}-qubit statevector exceeds the simulator's memory budget")

    qubit_names = list(index)
    errors = [_error_of(readout_error, name) for name in qubit_names]
    if heralding:
        keep = float(np.prod([1.0 - e for e in errors])) if errors else 1.0
        shots = int(rng.binomial(shots, keep))

    state = np.zeros((1, 1 << n), dtype=np.complex128)
    state[0, 0] = 1.0
    br = _Branches(n, state, np.array([shots], dtype=np.int64), {}, {})
    terminal = _terminal_flags(ops)
    deferred: list[tuple[str, list[int]]] = []

    for i, op in enumerate(ops):
        if should_cancel is not None and should_cancel():
            raise SimulationCancelled()
        if op.name in _NO_OPS:
            continue
        qs = [index[q] for q in op.locus]
        if op.name in _ONE_QUBIT:
            _apply_1q(br.view(qs[0]), one_qubit_matrix(op))
        elif op.name == "cz":
            _apply_cz(br, qs[0], qs[1])
        elif op.name == "cc_prx":
            fb = (str(op.args["feedback_key"]), index[str(op.args["feedback_qubit"])])
            bits = br.feedback.get(fb)
            if bits is None:
                raise SimulationError(
                    f"instruction {i} (cc_prx on {op.locus[0]}) reads feedback_key {fb[0]!r} "
                    f"of qubit {op.args['feedback_qubit']}, which no earlier measure recorded"
                )
            on = np.nonzero(bits)[0]
            if len(on):
                sub = br.state[on]
                _apply_1q(
                    sub.reshape(len(on), 1 << qs[0], 2, -1),
                    prx_matrix(float(op.args["angle"]), float(op.args["phase"])),
                )
                br.state[on] = sub
        elif op.name == "reset":
            for q in qs:
                true, _ = _split(br, q, rng, 0.0, max_state_bytes)
                flip = np.nonzero(true)[0]
                if len(flip):
                    view = br.view(q)
                    view[flip, :, 0, :] = view[flip, :, 1, :]
                    view[flip, :, 1, :] = 0
        elif op.name == "measure":
            key = str(op.args["key"])
            if terminal[i]:
                deferred.append((key, qs))
                continue
            record = np.empty((len(br.counts), len(qs)), dtype=np.uint8)
            br.records[key] = record
            fb_key = op.args.get("feedback_key")
            for j, q in enumerate(qs):
                _, reported = _split(br, q, rng, errors[q], max_state_bytes)
                record = br.records[key]
                record[:, j] = reported
                if fb_key is not None:
                    br.feedback[(str(fb_key), q)] = reported

    return _collect(br, keys, deferred, errors, rng)


def _collect(
    br: _Branches,
    keys: list[str],
    deferred: list[tuple[str, list[int]]],
    errors: list[float],
    rng: np.random.Generator,
) -> CircuitResult:
    """Sample deferred measurements per branch, apply readout error, shuffle shots.

    Memory stays near the size of the result: every key's bits go into one ``uint8`` table
    (row = shot) that is shuffled in place, the sampled outcomes are as narrow an integer as
    they can be, and bits and readout flips are produced in blocks of shots. The random draws
    are the same, in the same order, as sampling into separate arrays and permuting them.
    """
    total = int(br.counts.sum())
    n = br.n
    widths = {k: v.shape[1] for k, v in br.records.items()}
    widths.update((key, len(qs)) for key, qs in deferred)
    columns: dict[str, slice] = {}
    width = 0
    for key in keys:
        columns[key] = slice(width, width + widths[key])
        width += widths[key]
    table = np.empty((total, width), dtype=np.uint8)
    for key, v in br.records.items():
        if key in columns:
            # One recorded row per branch, repeated for the branch's shots.
            table[:, columns[key]] = np.repeat(v, br.counts, axis=0)

    measured = sorted({q for _, qs in deferred for q in qs})
    if deferred:
        # Sample the basis index of the deferred qubits for every shot, branch by branch.
        pos = {q: j for j, q in enumerate(measured)}
        m = len(measured)
        outcome = np.empty(total, dtype=np.uint32 if m <= 32 else np.uint64)
        start = 0
        for b, count in enumerate(br.counts.tolist()):
            probs = np.abs(br.state[b].reshape((2,) * n)) ** 2 if n else np.ones(())
            other = tuple(q for q in range(n) if q not in pos)
            marginal = probs.sum(axis=other) if other else probs
            # Summing keeps the remaining axes in ascending qubit order, as `measured` is.
            pvals = np.reshape(marginal, -1)
            # Counts per outcome, then one run per outcome: the final shuffle of all shots
            # makes them i.i.d. samples (cheaper than a random-access search per shot).
            per_outcome = rng.multinomial(count, pvals / pvals.sum())
            outcome[start : start + count] = np.repeat(
                np.arange(1 << m, dtype=outcome.dtype), per_outcome
            )
            start += count
        for key, qs in deferred:
            first = columns[key].start
            for j, q in enumerate(qs):
                shift = outcome.dtype.type(m - 1 - pos[q])
                for lo in range(0, total, _BLOCK_SHOTS):
                    hi = min(total, lo + _BLOCK_SHOTS)
                    table[lo:hi, first + j] = (outcome[lo:hi] >> shift) & 1
                if errors[q] > 0:
                    for lo in range(0, total, _BLOCK_SHOTS):
                        hi = min(total, lo + _BLOCK_SHOTS)
                        table[lo:hi, first + j] ^= rng.random(hi - lo) < errors[q]
        del outcome

    if width:
        # Shuffle whole rows as single items of a 1-D view: the same draws as
        # rng.permutation(total), about ten times faster than shuffling the 2-D table.
        rng.shuffle(table.view(np.dtype((np.void, width))).reshape(-1))
    else:
        rng.permutation(total)  # keep the random stream of later circuits unchanged
    return CircuitResult(keys=keys, bits={key: table[:, columns[key]] for key in keys}, shots=total)
