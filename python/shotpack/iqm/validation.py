"""Client-side circuit validation (the rules iqm-client 36 applies), before anything is sent.

Checks, in order: shots > 0; per circuit a non-empty name and instruction list, known operation
names, known implementations, arity, no repeated locus component, required/unexpected/mistyped
arguments, finite real arguments (NaN or infinity would reach the server as ``null``); then
against the dynamic quantum architecture (DQA): the qubit mapping, each locus (calibrated, or
components that exist for operations that need no calibration), unique measurement keys within
a circuit, and MOVE sandwiches. Every failure raises
:class:`~shotpack.iqm.errors.CircuitValidationError` naming the circuit and instruction.

Per-DQA lookups (allowed loci, symmetric permutations, factorizable components) are built once
per (operation, implementation) and reused for every instruction, so validation is linear in
the number of instructions.

Example:
    >>> from shotpack.iqm.models import Circuit, Instruction
    >>> validate_circuit(Circuit(name="c", instructions=[Instruction(name="h", locus=("QB1",))]))
    Traceback (most recent call last):
    ...
    shotpack.iqm.errors.CircuitValidationError: instruction 0 ('h'): unknown operation 'h'; ...
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import permutations

from shotpack.iqm.errors import CircuitValidationError
from shotpack.iqm.models.architecture import DynamicQuantumArchitecture
from shotpack.iqm.models.circuit import Circuit, Instruction, Locus, QIRCode
from shotpack.iqm.models.compilation import MoveGateValidationMode

_REAL = "real"
_STR = "str"


@dataclass(frozen=True)
class OperationInfo:
    """What the client knows about one native operation.

    Attributes:
        arity: number of locus components, or 0 for any number (at least one).
        params: required arguments and their kinds (``"real"`` or ``"str"``).
        optional_params: optional arguments and their kinds.
        implementations: implementation name -> whether it needs calibration data in the DQA.
        default_implementation: used when the instruction names none.
        symmetric: the locus order does not matter (e.g. ``cz``).
        factorizable: the operation acts on each component separately (``measure``, ``reset``).
    """

    arity: int
    params: Mapping[str, str] = field(default_factory=dict)
    optional_params: Mapping[str, str] = field(default_factory=dict)
    implementations: Mapping[str, bool] = field(default_factory=dict)
    default_implementation: str = ""
    symmetric: bool = False
    factorizable: bool = False


def _op(
    arity: int,
    impls: Sequence[str],
    *,
    params: Mapping[str, str] | None = None,
    optional: Mapping[str, str] | None = None,
    uncalibrated: Sequence[str] = (),
    symmetric: bool = False,
    factorizable: bool = False,
) -> OperationInfo:
    return OperationInfo(
        arity=arity,
        params=dict(params or {}),
        optional_params=dict(optional or {}),
        implementations={name: name not in uncalibrated for name in impls},
        default_implementation=impls[0],
        symmetric=symmetric,
        factorizable=factorizable,
    )


_PRX = {"angle": _REAL, "phase": _REAL}

SUPPORTED_OPERATIONS: dict[str, OperationInfo] = {
    "barrier": _op(0, [""], uncalibrated=[""], symmetric=True),
    "delay": _op(0, ["wait"], params={"duration": _REAL}, uncalibrated=["wait"], symmetric=True),
    "measure": _op(
        0,
        ["constant", "fast_constant", "constant_bias"],
        params={"key": _STR},
        optional={"feedback_key": _STR},
        factorizable=True,
    ),
    "measure_fidelity": _op(
        0,
        ["constant", "shelved_constant", "constant_bias"],
        params={"key": _STR},
        factorizable=True,
    ),
    "measure_012": _op(0, ["constant"], params={"key": _STR}, factorizable=True),
    "prx": _op(1, ["drag_gaussian", "drag_crf", "drag_crf_sx", "drag_gaussian_sx"], params=_PRX),
    "prx_12": _op(1, ["modulated_drag_crf"], params=_PRX),
    "u": _op(
        1, ["prx_u"], params={"theta": _REAL, "phi": _REAL, "lam": _REAL}, uncalibrated=["prx_u"]
    ),
    "sx": _op(1, ["prx_sx"], uncalibrated=["prx_sx"]),
    "rz": _op(
        1,
        ["virtual", "prx_composite"],
        params={"angle": _REAL},
        uncalibrated=["virtual", "prx_composite"],
    ),
    "rz_physical": _op(1, ["ac_stark_crf"]),
    "cz": _op(
        2,
        [
            "tgss",
            "tgss_crf",
            "crf_crf",
            "crf",
            "gaussian_smoothed_square",
            "slepian",
            "slepian_crf",
            "crf_acstarkcrf",
            "slepian_acstarkcrf",
        ],
        symmetric=True,
    ),
    "move": _op(2, ["tgss_crf", "crf_crf", "slepian_crf"]),
    "cc_prx": _op(
        1,
        ["prx_composite", "prx_composite_drag_crf", "prx_composite_drag_gaussian"],
        params={**_PRX, "feedback_qubit": _STR, "feedback_key": _STR},
    ),
    "reset": _op(
        0,
        ["reset_conditional", "f0g1_composite"],
        uncalibrated=["reset_conditional"],
        symmetric=True,
        factorizable=True,
    ),
    "reset_wait": _op(0, ["reset_wait"], symmetric=True, factorizable=True),
    "lru": _op(1, ["f0g1"]),
}
"""Native operations the client accepts, with their arguments and implementations."""

_MEASURE_OPS = frozenset({"measure", "measure_fidelity", "measure_012"})


def _where(ci: int | None, ii: int, inst: Instruction) -> str:
    head = "" if ci is None else f"circuit {ci}, "
    return f"{head}instruction {ii} ({inst.name!r})"


def _check_arg(kind: str, value: object) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    # Any real number (int, float, NumPy scalars); bool is not a number here.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_finite(value: numbers.Real) -> bool:
    # NaN/inf would be serialised as null or rejected server-side, failing the job after submit.
    if isinstance(value, numbers.Integral):
        return True
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def validate_instruction_static(inst: Instruction, *, where: str) -> None:
    """Checks one instruction against the operation table alone (no architecture).

    Raises:
        CircuitValidationError: unknown operation or implementation, wrong arity, repeated
            locus component, missing, unexpected, mistyped or non-finite argument.
    """
    op = SUPPORTED_OPERATIONS.get(inst.name)
    if op is None:
        raise CircuitValidationError(
            f"{where}: unknown operation {inst.name!r}; supported operations are "
            f"{', '.join(sorted(SUPPORTED_OPERATIONS))}"
        )
    if inst.implementation is not None and inst.implementation not in op.implementations:
        raise CircuitValidationError(
            f"{where}: unknown implementation {inst.implementation!r}; known: "
            f"{', '.join(repr(i) for i in op.implementations)}"
        )
    n = len(inst.locus)
    if n == 0:
        raise CircuitValidationError(f"{where}: the locus is empty")
    if op.arity and n != op.arity:
        raise CircuitValidationError(f"{where}: needs {op.arity} locus components, got {n}")
    if len(set(inst.locus)) != n:
        raise CircuitValidationError(f"{where}: repeated component in locus {list(inst.locus)}")
    for name in op.params:
        if name not in inst.args:
            raise CircuitValidationError(f"{where}: missing argument {name!r}")
    for name, value in inst.args.items():
        kind_or_none = op.params.get(name) or op.optional_params.get(name)
        if kind_or_none is None:
            raise CircuitValidationError(f"{where}: unexpected argument {name!r}")
        if not _check_arg(kind_or_none, value):
            expected = "a string" if kind_or_none == _STR else "a real number"
            raise CircuitValidationError(
                f"{where}: argument {name!r} must be {expected}, got {type(value).__name__}"
            )
        if kind_or_none == _REAL and not _is_finite(value):
            raise CircuitValidationError(f"{where}: argument {name!r} must be finite, got {value}")


def validate_circuit(circuit: Circuit, *, index: int | None = None) -> None:
    """Checks a circuit against the operation table (no architecture needed).

    Args:
        circuit: the circuit.
        index: its position in the batch, used in error messages.

    Raises:
        CircuitValidationError: see :func:`validate_instruction_static`; also an empty name or
            no instructions.
    """
    head = "circuit" if index is None else f"circuit {index}"
    if not isinstance(circuit, Circuit):
        raise CircuitValidationError(f"{head}: expected a Circuit, got {type(circuit).__name__}")
    if not circuit.name:
        raise CircuitValidationError(f"{head}: the circuit name is empty")
    if not circuit.instructions:
        raise CircuitValidationError(f"{head} ({circuit.name!r}): the circuit has no instructions")
    for ii, inst in enumerate(circuit.instructions):
        validate_instruction_static(inst, where=_where(index, ii, inst))


def validate_qubit_mapping(
    dqa: DynamicQuantumArchitecture,
    circuits: Sequence[Circuit | QIRCode],
    qubit_mapping: Mapping[str, str] | None,
) -> None:
    """Checks that a logical -> physical mapping is injective and covers every circuit.

    Raises:
        CircuitValidationError: two logical names share a physical qubit, a locus component is
            not mapped, or a physical name is not in the architecture.
    """
    if qubit_mapping is None:
        return
    targets = list(qubit_mapping.values())
    if len(set(targets)) != len(targets):
        raise CircuitValidationError("Multiple logical qubits map to the same physical qubit.")
    components = set(dqa.components)
    unknown = sorted(p for p in set(targets) if p not in components)
    if unknown:
        raise CircuitValidationError(
            f"qubit_mapping maps to {unknown}, which the architecture does not have "
            f"(it has {list(dqa.components)})"
        )
    for ci, circuit in enumerate(circuits):
        if isinstance(circuit, str):
            continue
        missing = sorted(circuit.all_locus_components() - qubit_mapping.keys())
        if missing:
            raise CircuitValidationError(
                f"circuit {ci} ({circuit.name!r}): components {missing} are not in qubit_mapping"
            )


class _DqaIndex:
    """Lookups derived from one DQA, built lazily and reused across instructions."""

    def __init__(self, dqa: DynamicQuantumArchitecture) -> None:
        self.dqa = dqa
        self.components = frozenset(dqa.components)
        self._allowed: dict[tuple[str, str | None], tuple[frozenset[Locus], frozenset[str]]] = {}

    def allowed(self, op_name: str, impl: str | None) -> tuple[frozenset[Locus], frozenset[str]]:
        """(allowed loci incl. permutations for symmetric ops, components of any locus)."""
        key = (op_name, impl)
        hit = self._allowed.get(key)
        if hit is not None:
            return hit
        gate = self.dqa.gates[op_name]
        if impl is not None:
            loci = list(gate.implementations[impl].loci)
        else:
            loci = list(gate.loci)
        allowed = {tuple(lo) for lo in loci}
        if SUPPORTED_OPERATIONS[op_name].symmetric:
            allowed |= {tuple(p) for lo in loci for p in permutations(lo)}
        comps = frozenset(c for lo in loci for c in lo)
        self._allowed[key] = (frozenset(allowed), comps)
        return self._allowed[key]


def validate_circuit_instructions(
    dqa: DynamicQuantumArchitecture,
    circuits: Sequence[Circuit | QIRCode],
    qubit_mapping: Mapping[str, str] | None = None,
    *,
    move_validation: MoveGateValidationMode = MoveGateValidationMode.STRICT,
) -> None:
    """Checks every instruction's locus against the DQA and measurement keys for uniqueness.

    Args:
        dqa: the architecture of the calibration set the job will use.
        circuits: the batch; QIR strings are skipped.
        qubit_mapping: logical -> physical names, or ``None`` if loci are physical already.
        move_validation: how MOVE sandwiches are checked.

    Raises:
        CircuitValidationError: the first problem found, naming circuit and instruction.
    """
    index = _DqaIndex(dqa)
    for ci, circuit in enumerate(circuits):
        if isinstance(circuit, str):
            continue
        keys: set[str] = set()
        for ii, inst in enumerate(circuit.instructions):
            where = _where(ci, ii, inst)
            locus = (
                tuple(qubit_mapping.get(c, c) for c in inst.locus)
                if qubit_mapping is not None
                else tuple(inst.locus)
            )
            _validate_locus(index, inst, locus, where)
            if inst.name in _MEASURE_OPS:
                key = inst.args.get("key")
                if key in keys:
                    raise CircuitValidationError(f"{where}: non-unique measurement key {key!r}")
                keys.add(key)  # type: ignore[arg-type]
        if move_validation != MoveGateValidationMode.NONE:
            _validate_moves(dqa, circuit, ci, qubit_mapping, move_validation)


def _validate_locus(index: _DqaIndex, inst: Instruction, locus: Locus, where: str) -> None:
    op = SUPPORTED_OPERATIONS[inst.name]
    impl = inst.implementation or op.default_implementation
    if not op.implementations.get(impl, True):
        # No calibration needed: the components only have to exist.
        for c in locus:
            if c not in index.components:
                raise CircuitValidationError(f"{where}: component {c!r} is not in the architecture")
        return
    gate = index.dqa.gates.get(inst.name)
    if gate is None:
        raise CircuitValidationError(
            f"{where}: operation {inst.name!r} is not calibrated in this architecture"
        )
    if inst.implementation is not None and inst.implementation not in gate.implementations:
        raise CircuitValidationError(
            f"{where}: implementation {inst.implementation!r} is not calibrated "
            f"(available: {sorted(gate.implementations)})"
        )
    allowed, comps = index.allowed(inst.name, inst.implementation)
    if op.factorizable:
        for c in locus:
            if c not in comps:
                raise CircuitValidationError(
                    f"{where}: {inst.name!r} is not calibrated for component {c!r}"
                )
    elif locus not in allowed:
        raise CircuitValidationError(
            f"{where}: {inst.name!r} is not calibrated for locus {list(locus)}"
        )


def _validate_moves(
    dqa: DynamicQuantumArchitecture,
    circuit: Circuit,
    ci: int,
    qubit_mapping: Mapping[str, str] | None,
    mode: MoveGateValidationMode,
) -> None:
    """MOVE sandwiches: a qubit moves into an empty resonator and back out, touched only by
    barriers (and prx under ``allow_prx``) in between. Unclosed sandwiches are allowed."""
    resonators = set(dqa.computational_resonators)
    if not resonators and not any(i.name == "move" for i in circuit.instructions):
        return
    allowed_inside = {"barrier"} | ({"prx"} if mode == MoveGateValidationMode.ALLOW_PRX else set())
    occupant: dict[str, str] = {}  # resonator -> qubit inside it
    for ii, inst in enumerate(circuit.instructions):
        where = _where(ci, ii, inst)
        locus = tuple(qubit_mapping.get(c, c) for c in inst.locus) if qubit_mapping else inst.locus
        if inst.name == "move":
            if "move" not in dqa.gates:
                raise CircuitValidationError(f"{where}: the architecture has no MOVE gate")
            qubit, res = locus
            if qubit not in dqa.qubits or res not in resonators:
                raise CircuitValidationError(
                    f"{where}: MOVE must join a qubit and a computational resonator, "
                    f"got {list(locus)}"
                )
            inside = occupant.get(res)
            if inside is None:
                if qubit in occupant.values():
                    raise CircuitValidationError(
                        f"{where}: qubit {qubit!r} is already inside another resonator"
                    )
                occupant[res] = qubit
            elif inside == qubit:
                del occupant[res]
            else:
                raise CircuitValidationError(
                    f"{where}: resonator {res!r} already holds qubit {inside!r}"
                )
            continue
        moved = set(occupant.values())
        if moved and inst.name not in allowed_inside:
            hit = sorted(moved.intersection(locus))
            if hit:
                raise CircuitValidationError(
                    f"{where}: qubit {hit[0]!r} is inside a resonator (MOVE sandwich); only "
                    f"{sorted(allowed_inside)} may act on it there"
                )
