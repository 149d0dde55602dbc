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
* Readout error flips each reported bit independently, with the qubit's probability for the
  true bit: ``P(1|0)`` when the qubit was in 0, ``P(0|1)`` when it was in 1 (asymmetric, as on
  hardware where a 1 may decay during the readout). A mid-circuit measurement's feedback uses the
  reported (possibly flipped) bit, as hardware does.
* Gate error is depolarizing: after a ``prx``/``rz``/``sx``/``u`` on a qubit with probability
  ``p``, the qubit's state becomes ``(1 - p) rho + p I/2``; after a ``cz`` with probability ``p``
  the pair's state becomes ``(1 - p) rho + p I/4``. Circuits whose measurements are all terminal
  evolve a density matrix (exact mixture, ``2n`` qubits of storage) and sample from its diagonal;
  circuits with mid-circuit measurements sample the error as Pauli trajectories: every branch's
  shots are divided by a multinomial draw over the Pauli errors, as for a measurement.

Finally every shot draws its terminal outcome independently from its branch's distribution, the
branches in a uniformly random order of shots, so the branch grouping leaves no trace in the shot
order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shotpack import _native

__all__ = [
    "SUPPORTED_OPS",
    "CircuitResult",
    "GateNoise",
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


@dataclass(frozen=True)
class GateNoise:
    """Depolarizing gate error of a device.

    Args:
        one_qubit: Depolarizing probability after each single-qubit gate, for all qubits or per
            qubit name (missing qubits: 0).
        two_qubit: Depolarizing probability after each ``cz``, for all pairs or per sorted pair
            of qubit names (missing pairs: 0).

    Example:
        >>> GateNoise(0.001, 0.01).cz("QB1", "QB2")
        0.01
    """

    one_qubit: float | Mapping[str, float] = 0.0
    two_qubit: float | Mapping[tuple[str, str], float] = 0.0

    def prx(self, qubit: str) -> float:
        """Depolarizing probability of a single-qubit gate on ``qubit``."""
        if isinstance(self.one_qubit, Mapping):
            return float(self.one_qubit.get(qubit, 0.0))
        return float(self.one_qubit)

    def cz(self, a: str, b: str) -> float:
        """Depolarizing probability of a ``cz`` on ``(a, b)`` (either order)."""
        if isinstance(self.two_qubit, Mapping):
            value = self.two_qubit.get((a, b), self.two_qubit.get((b, a), 0.0))
            return float(value)
        return float(self.two_qubit)

    @property
    def enabled(self) -> bool:
        """Whether any gate has a non-zero error."""
        one = self.one_qubit.values() if isinstance(self.one_qubit, Mapping) else [self.one_qubit]
        two = self.two_qubit.values() if isinstance(self.two_qubit, Mapping) else [self.two_qubit]
        return any(float(p) > 0 for p in (*one, *two))


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
        # The rest axis is spelt out: with no branches left (0 shots) -1 would be ambiguous.
        return self.state.reshape(len(self.counts), 1 << qubit, 2, 1 << (self.n - qubit - 1))

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
    error: tuple[float, float],
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
    p01, p10 = error
    pvals[:, 0] = probs[:, 0] * (1 - p01)
    pvals[:, 1] = probs[:, 0] * p01
    pvals[:, 2] = probs[:, 1] * p10
    pvals[:, 3] = probs[:, 1] * (1 - p10)
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


_PAULIS = np.array(
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
    dtype=np.complex128,
)


def _depolarize_branches(
    br: _Branches, qs: list[int], p: float, rng: np.random.Generator, max_state_bytes: int
) -> None:
    """Pauli trajectories of a depolarizing channel: split each branch's shots by error."""
    k = len(qs)
    ncat = 4**k
    # (1 - p) rho + p I/d^2-mixture: each of the 4^k Paulis with p / 4^k, identity also 1 - p.
    pvals = np.full(ncat, p / ncat)
    pvals[0] += 1.0 - p
    split = rng.multinomial(br.counts, pvals)
    rows, cats = np.nonzero(split)
    new_b = len(rows)
    if new_b * br.state.shape[1] * 16 > max_state_bytes:
        raise SimulationError(
            f"gate noise splits the shots into {new_b} simultaneous statevectors of {br.n} "
            f"qubits, over the simulator's memory budget of {max_state_bytes // 2**20} MiB; "
            "use fewer shots, qubits or mid-circuit measurements"
        )
    br.counts = split[rows, cats]
    br.select(rows)
    for j, q in enumerate(qs):
        pauli = (cats // 4 ** (k - 1 - j)) % 4
        for which in (1, 2, 3):
            hit = np.nonzero(pauli == which)[0]
            if len(hit):
                sub = br.state[hit]
                _apply_1q(sub.reshape(len(hit), 1 << q, 2, -1), _PAULIS[which])
                br.state[hit] = sub


def _depolarize_density(rho: np.ndarray, n: int, qs: list[int], p: float) -> None:
    """Apply ``rho -> (1 - p) rho + p I/d (x) Tr_qs rho`` in place (``rho`` is ``[2]*2n``)."""
    if len(qs) == 1:
        (q,) = qs
        diag0 = rho.take(0, axis=q).take(0, axis=n + q - 1)
        diag1 = rho.take(1, axis=q).take(1, axis=n + q - 1)
        traced = (diag0 + diag1) * (p / 2)
        rho *= 1.0 - p
        for b in (0, 1):
            index: list[Any] = [slice(None)] * (2 * n)
            index[q] = b
            index[n + q] = b
            rho[tuple(index)] += traced
        return
    a, b = qs
    # Partial trace over both qubits: sum of the four diagonal (a, b) blocks.
    traced = np.zeros_like(rho[_block(n, a, b, 0, 0)])
    for x in (0, 1):
        for y in (0, 1):
            traced += rho[_block(n, a, b, x, y)]
    traced *= p / 4
    rho *= 1.0 - p
    for x in (0, 1):
        for y in (0, 1):
            rho[_block(n, a, b, x, y)] += traced


def _block(n: int, a: int, b: int, x: int, y: int) -> tuple[Any, ...]:
    index: list[Any] = [slice(None)] * (2 * n)
    index[a] = x
    index[n + a] = x
    index[b] = y
    index[n + b] = y
    return tuple(index)


def _is_static(ops: Sequence[NativeOp], terminal: list[bool]) -> bool:
    """Whether the circuit is unitary up to terminal measurements (density-matrix path)."""
    return all(
        (op.name == "measure" and term) or op.name in _ONE_QUBIT or op.name in ("cz", *_NO_OPS)
        for op, term in zip(ops, terminal, strict=True)
    )


def _density_probabilities(
    ops: Sequence[NativeOp],
    index: Mapping[str, int],
    noise: GateNoise,
    max_state_bytes: int,
    should_cancel: Callable[[], bool] | None,
) -> np.ndarray:
    """Measurement probabilities of a unitary circuit with depolarizing gates (density matrix)."""
    n = len(index)
    if (1 << (2 * n)) * 16 > max_state_bytes:
        raise SimulationError(
            f"a {n}-qubit density matrix (needed for gate noise) exceeds the simulator's "
            f"memory budget of {max_state_bytes // 2**20} MiB"
        )
    # The density matrix as a 2n-qubit vector: row qubits 0..n-1, column qubits n..2n-1.
    rho = np.zeros((1, 1 << (2 * n)), dtype=np.complex128)
    rho[0, 0] = 1.0
    br = _Branches(2 * n, rho, np.array([1], dtype=np.int64), {}, {})
    shaped = rho.reshape((2,) * (2 * n)) if n else rho.reshape(())
    for op in ops:
        if should_cancel is not None and should_cancel():
            raise SimulationCancelled()
        if op.name in _NO_OPS or op.name == "measure":
            continue
        qs = [index[q] for q in op.locus]
        if op.name in _ONE_QUBIT:
            u = one_qubit_matrix(op)
            _apply_1q(br.view(qs[0]), u)
            _apply_1q(br.view(n + qs[0]), u.conj())
            p = noise.prx(op.locus[0])
        else:
            _apply_cz(br, qs[0], qs[1])
            _apply_cz(br, n + qs[0], n + qs[1])
            p = noise.cz(op.locus[0], op.locus[1])
        if p > 0:
            _depolarize_density(shaped, n, qs, p)
    diag = np.einsum("ii->i", rho.reshape(1 << n, 1 << n)).real
    return np.clip(diag, 0.0, None)


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


#: A readout error: one flip probability, or ``(P(1|0), P(0|1))``.
ReadoutError = float | tuple[float, float]


def _error_of(
    readout_error: ReadoutError | Mapping[str, ReadoutError], name: str
) -> tuple[float, float]:
    """``(P(1|0), P(0|1))`` of a qubit."""
    value = readout_error.get(name, 0.0) if isinstance(readout_error, Mapping) else readout_error
    if isinstance(value, tuple | list):
        return float(value[0]), float(value[1])
    return float(value), float(value)


def simulate_circuit(
    ops: Sequence[NativeOp],
    shots: int,
    rng: np.random.Generator,
    *,
    readout_error: ReadoutError | Mapping[str, ReadoutError] = 0.0,
    gate_noise: GateNoise | None = None,
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
            mapping from qubit name to probability (missing qubits: 0); a value may be a pair
            ``(P(1|0), P(0|1))`` for an asymmetric error.
        gate_noise: Depolarizing gate error (default none).
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
        # A herald reads 1 only when a qubit in 0 is misread: P(1|0).
        keep = float(np.prod([1.0 - e[0] for e in errors])) if errors else 1.0
        shots = int(rng.binomial(shots, keep))

    state = np.zeros((1, 1 << n), dtype=np.complex128)
    state[0, 0] = 1.0
    br = _Branches(n, state, np.array([shots], dtype=np.int64), {}, {})
    terminal = _terminal_flags(ops)
    deferred: list[tuple[str, list[int]]] = []
    noisy = gate_noise is not None and gate_noise.enabled
    if gate_noise is not None and noisy and _is_static(ops, terminal):
        probs = _density_probabilities(ops, index, gate_noise, max_state_bytes, should_cancel)
        # One branch whose amplitudes' squares are the mixture's probabilities: the deferred
        # sampling below reads only |amplitude|^2.
        br.state = np.sqrt(probs / probs.sum()).astype(np.complex128)[None, :]
        deferred = [
            (str(op.args["key"]), [index[q] for q in op.locus])
            for op in ops
            if op.name == "measure"
        ]
        return _collect(br, keys, deferred, errors, rng)

    for i, op in enumerate(ops):
        if should_cancel is not None and should_cancel():
            raise SimulationCancelled()
        if op.name in _NO_OPS:
            continue
        qs = [index[q] for q in op.locus]
        if op.name in _ONE_QUBIT:
            _apply_1q(br.view(qs[0]), one_qubit_matrix(op))
            if noisy and gate_noise is not None and (p := gate_noise.prx(op.locus[0])) > 0:
                _depolarize_branches(br, qs, p, rng, max_state_bytes)
        elif op.name == "cz":
            _apply_cz(br, qs[0], qs[1])
            if noisy and gate_noise is not None and (p := gate_noise.cz(*op.locus)) > 0:
                _depolarize_branches(br, qs, p, rng, max_state_bytes)
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
                true, _ = _split(br, q, rng, (0.0, 0.0), max_state_bytes)
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


def _apply_readout_error(
    column: np.ndarray, error: tuple[float, float], rng: np.random.Generator
) -> None:
    """Flips reported bits of one column in place with probability ``(P(1|0), P(0|1))``."""
    p01, p10 = error
    if p01 <= 0 and p10 <= 0:
        return
    total = column.shape[0]
    for lo in range(0, total, _BLOCK_SHOTS):
        hi = min(total, lo + _BLOCK_SHOTS)
        block = column[lo:hi]
        if p01 == p10:
            block ^= rng.random(hi - lo) < p01
        else:
            # The flip probability depends on the true bit.
            block ^= rng.random(hi - lo) < np.where(block, p10, p01)


def _marginal(state: np.ndarray, n: int, measured: dict[int, int]) -> np.ndarray:
    """Outcome probabilities of the ``measured`` qubits (axes in ascending qubit order)."""
    probs = np.abs(state.reshape((2,) * n)) ** 2 if n else np.ones(())
    other = tuple(q for q in range(n) if q not in measured)
    # Summing keeps the remaining axes in ascending qubit order, as `measured` is.
    return probs.sum(axis=other) if other else probs


def _collect(
    br: _Branches,
    keys: list[str],
    deferred: list[tuple[str, list[int]]],
    errors: list[tuple[float, float]],
    rng: np.random.Generator,
) -> CircuitResult:
    """Sample deferred measurements per branch, apply readout error, return every key's bits.

    Memory stays near the size of the result: every key's bits go into one ``uint8`` table
    (row = shot), written by the native sampler, and readout flips are produced in blocks of
    shots.

    Every shot's outcome is an independent draw from its branch's distribution, so nothing is
    shuffled. One branch without mid-circuit records (every circuit without mid-circuit
    measurement or reset) takes ``shotpack._native.sample_outcome_bits``; several branches take
    ``sample_branch_outcome_bits``, which also gives the shots a uniformly random order of branch
    labels (``br.counts[b]`` of branch ``b``) and returns them, so each branch's recorded rows
    are placed by label. Both are keyed by one word drawn from ``rng``.

    Raises:
        SimulationError: more than 32 qubits measured at the end (their outcome probabilities
            alone would exceed any memory budget).
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

    measured = sorted({q for _, qs in deferred for q in qs})
    pos = {q: j for j, q in enumerate(measured)}
    m = len(measured)
    if m > 32:
        raise SimulationError(f"{m} qubits measured at the end, at most 32 can be sampled")
    if total == 0:
        return CircuitResult(keys=keys, bits={key: table[:, columns[key]] for key in keys}, shots=0)
    # Per table column, its bit of the outcome (bit m - 1 - j is measured qubit j). Columns of
    # mid-circuit records get bit 0 and are overwritten from the records below.
    shifts = [0] * width
    for key, qs in deferred:
        for j, q in enumerate(qs):
            shifts[columns[key].start + j] = m - 1 - pos[q]
    # With no deferred qubit there is one outcome and nothing to write but the branch labels.
    out = table if m else np.empty((total, 0), dtype=np.uint8)
    seed = int(rng.integers(0, 2**64 - 1, dtype=np.uint64, endpoint=True))
    if len(br.counts) == 1 and not br.records:
        marginal = np.reshape(_marginal(br.state[0], n, pos), -1)
        _native.sample_outcome_bits(
            np.ascontiguousarray(marginal, dtype=np.float64), seed, shifts if m else [], out
        )
    else:
        probs = np.stack([np.reshape(_marginal(s, n, pos), -1) for s in br.state])
        labels = _native.sample_branch_outcome_bits(
            np.ascontiguousarray(probs, dtype=np.float64),
            np.ascontiguousarray(br.counts, dtype=np.uint64),
            seed,
            shifts if m else [],
            out,
        )
        for key, v in br.records.items():
            if key in columns:
                # Each shot's branch's recorded row, a block of shots at a time.
                for lo in range(0, total, _BLOCK_SHOTS):
                    hi = min(total, lo + _BLOCK_SHOTS)
                    table[lo:hi, columns[key]] = v[labels[lo:hi]]
        del labels
    for key, qs in deferred:
        first = columns[key].start
        for j, q in enumerate(qs):
            _apply_readout_error(table[:, first + j], errors[q], rng)
    return CircuitResult(keys=keys, bits={key: table[:, columns[key]] for key in keys}, shots=total)
