"""Qiskit circuits to shotpack's IQM circuits (needs the optional ``qiskit`` extra).

:func:`to_iqm_circuit` converts a circuit already transpiled to IQM's native gate set, writing
measurement keys the way Qiskit-on-IQM does (``<creg>_<creg_len>_<creg_idx>_<clbit_idx>``), so
the Sampler returns one BitArray per classical register, named as in the Qiskit circuit, and the
Estimator accepts Qiskit observables (``SparsePauliOp``) laid out on the transpiled circuit.

Qiskit is imported lazily: ``import shotpack.qiskit`` works without it, and the functions raise an
``ImportError`` saying how to install it.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from shotpack.circuit.parameters import Parameter, ParameterExpression, ParameterVectorElement
from shotpack.iqm.models.circuit import QUBITS_METADATA_KEY, Circuit, Instruction, QIRCode

# The converted circuit records its Qiskit classical registers under this metadata key
# (``[[name, size], ...]`` in circuit order), so results get one BitArray per register even for
# registers that nothing measured. The primitives remove it from ``circuit_metadata``.
from shotpack.measurements.registers import QISKIT_REGISTERS_KEY

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

__all__ = [
    "QISKIT_QUBITS_KEY",
    "QISKIT_REGISTERS_KEY",
    "coerce_circuit",
    "default_qubit_names",
    "from_qiskit_pub",
    "qiskit_pub_values",
    "to_iqm_circuit",
]

#: Metadata key recording the circuit's qubit names in Qiskit index order: observable qubit k is
#: the circuit's qubit k, also for qubits no instruction touches (see ``Circuit.qubits``).
QISKIT_QUBITS_KEY = QUBITS_METADATA_KEY

_DELAY_UNIT_SECONDS = {"dt": 1e-9, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}


def _require_qiskit() -> Any:
    try:
        import qiskit
    except ImportError as exc:  # pragma: no cover - exercised only without qiskit
        raise ImportError(
            "shotpack.qiskit needs Qiskit; install it with `pip install 'shotpack[qiskit]'` "
            "(or `pip install qiskit`)"
        ) from exc
    return qiskit


def default_qubit_names(num_qubits: int) -> list[str]:
    """IQM names of Qiskit qubits 0, 1, ...: ``QB1``, ``QB2``, ...

    Example:
        >>> default_qubit_names(3)
        ['QB1', 'QB2', 'QB3']
    """
    return [f"QB{i + 1}" for i in range(num_qubits)]


class _ExprConverter:
    """Converts Qiskit parameter values to shotpack's, keeping one Parameter per Qiskit one."""

    def __init__(self) -> None:
        self.params: dict[Any, Parameter] = {}

    def parameter(self, qparam: Any) -> Parameter:
        out = self.params.get(qparam)
        if out is None:
            from qiskit.circuit import ParameterVectorElement as QiskitElement

            # A vector element stays one, so it sorts by index as in Qiskit (v[2] before v[10]).
            if isinstance(qparam, QiskitElement):
                out = ParameterVectorElement(qparam.vector.name, qparam.index)
            else:
                out = Parameter(qparam.name)
            self.params[qparam] = out
        return out

    def value(self, value: Any, where: str) -> float | ParameterExpression:
        from qiskit.circuit import Parameter as QiskitParameter
        from qiskit.circuit import ParameterExpression as QiskitExpression

        if isinstance(value, QiskitParameter):
            return self.parameter(value)
        if isinstance(value, QiskitExpression):
            if not value.parameters:
                return _real(complex(value), where)
            try:
                symbolic = value.sympify()
            except ImportError as exc:
                raise ImportError(
                    f"{where}: converting the parameter expression {value} needs sympy; install "
                    "it with `pip install 'shotpack[qiskit]'` (or `pip install sympy`)"
                ) from exc
            return self._from_sympy(symbolic, {p.name: p for p in value.parameters}, where)
        return _real(value, where)

    def _from_sympy(self, node: Any, by_name: Mapping[str, Any], where: str) -> Any:
        import sympy

        if isinstance(node, sympy.Symbol):
            qparam = by_name.get(node.name)
            if qparam is None:
                raise ValueError(f"{where}: unknown symbol {node.name!r} in a parameter expression")
            return self.parameter(qparam)
        if node.is_number:
            return _real(complex(node), where)
        args = [self._from_sympy(a, by_name, where) for a in node.args]
        if isinstance(node, sympy.Add):
            out = args[0]
            for a in args[1:]:
                out = out + a
            return out
        if isinstance(node, sympy.Mul):
            out = args[0]
            for a in args[1:]:
                out = out * a
            return out
        if isinstance(node, sympy.Pow):
            return ParameterExpression._coerce(args[0]) ** args[1]
        unary = {
            sympy.sin: "sin",
            sympy.cos: "cos",
            sympy.tan: "tan",
            sympy.asin: "arcsin",
            sympy.acos: "arccos",
            sympy.atan: "arctan",
            sympy.exp: "exp",
            sympy.log: "log",
            sympy.Abs: "__abs__",
            sympy.sign: "sign",
        }
        for cls, method in unary.items():
            if isinstance(node, cls):
                return getattr(ParameterExpression._coerce(args[0]), method)()
        if isinstance(node, (sympy.conjugate, sympy.re)):  # parameters are real
            return args[0]
        raise ValueError(
            f"{where}: unsupported function {node.func} in parameter expression {node}"
        )


def _real(value: Any, where: str) -> float:
    z = complex(value)
    if z.imag != 0.0:
        raise ValueError(f"{where}: the value {value} is not real")
    return float(z.real)


def to_iqm_circuit(
    circuit: QuantumCircuit,
    *,
    qubit_names: Sequence[str] | None = None,
    name: str | None = None,
) -> Circuit:
    """Converts a Qiskit circuit transpiled to IQM's native gates into a shotpack ``Circuit``.

    Supported operations: ``r`` (and a custom two-parameter ``prx`` gate) become ``prx``; ``x``,
    ``rx``, ``y``, ``ry`` become the equivalent ``prx``; ``cz``, ``barrier``, ``reset`` map one to
    one; ``delay`` becomes ``delay`` in seconds (``dt`` counts as 1 ns, as Qiskit-on-IQM does);
    ``id`` is dropped; ``measure`` of clbit ``j`` of register ``creg`` (the ``i``-th register)
    becomes a ``measure`` with key ``f"{creg.name}_{len(creg)}_{i}_{j}"``.

    Qiskit ``Parameter`` objects and parameter expressions become shotpack :class:`Parameter` /
    :class:`ParameterExpression` of the same names, so the primitives bind them by name;
    ``ParameterVector`` elements stay vector elements, so the circuit's parameters sort in
    Qiskit's order and a bare value array binds the same parameters as in Qiskit.

    The circuit records its qubit names in Qiskit index order, so the Estimator's observable
    qubit ``k`` is Qiskit qubit ``k`` (apply the transpiled layout to the observables, as with any
    transpiled circuit), and its classical registers, so the Sampler returns one BitArray per
    register, as Qiskit's samplers do, with unmeasured bits 0.

    Args:
        circuit: the transpiled Qiskit circuit.
        qubit_names: IQM component name of each Qiskit qubit, by index; default ``QB1``,
            ``QB2``, ... (:func:`default_qubit_names`).
        name: the circuit name; default the Qiskit circuit's name.

    Returns:
        The IQM circuit, with the Qiskit circuit's JSON-serialisable metadata.

    Raises:
        ImportError: Qiskit is not installed.
        TypeError: ``circuit`` is not a ``QuantumCircuit``.
        ValueError: an operation is not native to IQM (transpile first), a clbit is measured
            twice or belongs to no register, an angle is not real, or ``qubit_names`` has the
            wrong length or repeats a name.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> qc = QuantumCircuit(1, 1)
        >>> _ = qc.r(1.0, 0.0, 0)
        >>> _ = qc.measure(0, 0)
        >>> [i.name for i in to_iqm_circuit(qc).instructions]
        ['prx', 'measure']
    """
    _require_qiskit()
    from qiskit.circuit import QuantumCircuit

    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"to_iqm_circuit expects a qiskit QuantumCircuit, got {type(circuit)}")
    names = list(default_qubit_names(circuit.num_qubits) if qubit_names is None else qubit_names)
    if len(names) != circuit.num_qubits:
        raise ValueError(
            f"qubit_names has {len(names)} names but the circuit has {circuit.num_qubits} qubits"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"qubit_names repeats a name: {names}")
    creg_index = {creg: i for i, creg in enumerate(circuit.cregs)}
    conv = _ExprConverter()
    out: list[Instruction] = []
    keys_seen: set[str] = set()
    for pos, inst in enumerate(circuit.data):
        op = inst.operation
        opname = op.name
        where = f"instruction {pos} ({opname})"
        locus = tuple(names[circuit.find_bit(q).index] for q in inst.qubits)
        if getattr(op, "blocks", ()):
            raise ValueError(f"{where}: control flow is not supported by shotpack's IQM conversion")
        params = op.params
        if opname in ("r", "prx"):
            args = {
                "angle": conv.value(params[0], where),
                "phase": conv.value(params[1], where),
            }
            out.append(Instruction.model_construct(name="prx", locus=locus, args=args))
        elif opname in ("x", "y"):
            phase = 0.0 if opname == "x" else math.pi / 2
            args = {"angle": math.pi, "phase": phase}
            out.append(Instruction.model_construct(name="prx", locus=locus, args=args))
        elif opname in ("rx", "ry"):
            phase = 0.0 if opname == "rx" else math.pi / 2
            args = {"angle": conv.value(params[0], where), "phase": phase}
            out.append(Instruction.model_construct(name="prx", locus=locus, args=args))
        elif opname in ("cz", "barrier", "reset", "move"):
            out.append(Instruction.model_construct(name=opname, locus=locus, args={}))
        elif opname == "delay":
            unit = getattr(op, "unit", "dt")
            if unit not in _DELAY_UNIT_SECONDS:
                raise ValueError(f"{where}: unsupported delay unit {unit!r}")
            duration = conv.value(params[0], where) * _DELAY_UNIT_SECONDS[unit]
            out.append(
                Instruction.model_construct(name="delay", locus=locus, args={"duration": duration})
            )
        elif opname == "id":
            continue
        elif opname == "measure":
            clbit = inst.clbits[0]
            registers = circuit.find_bit(clbit).registers
            if not registers:
                raise ValueError(
                    f"{where}: clbit {circuit.find_bit(clbit).index} belongs to no classical "
                    "register, so it has no Qiskit-on-IQM measurement key"
                )
            creg, clbit_idx = registers[0]
            key = f"{creg.name}_{len(creg)}_{creg_index[creg]}_{clbit_idx}"
            if key in keys_seen:
                raise ValueError(
                    f"{where}: clbit {clbit_idx} of register {creg.name!r} is measured twice "
                    f"(measurement key {key!r} would repeat)"
                )
            keys_seen.add(key)
            out.append(Instruction.model_construct(name="measure", locus=locus, args={"key": key}))
        else:
            raise ValueError(
                f"{where} on qubits {list(locus)} is not natively supported by IQM; transpile the "
                "circuit to the gate set r, cz, measure, barrier, reset, delay first"
            )
    metadata = _json_metadata(circuit.metadata)
    extra = {
        QISKIT_REGISTERS_KEY: [[creg.name, len(creg)] for creg in circuit.cregs],
        QISKIT_QUBITS_KEY: names,
    }
    return Circuit(
        name=circuit.name if name is None else name,
        instructions=out,
        metadata={**(metadata or {}), **extra},
    )


def _json_metadata(metadata: Any) -> dict[str, Any] | None:
    if not metadata:
        return None
    try:
        json.dumps(metadata)
    except (TypeError, ValueError):
        warnings.warn(
            "the Qiskit circuit's metadata is not JSON-serialisable and is dropped",
            UserWarning,
            stacklevel=3,
        )
        return None
    return dict(metadata)


@overload
def coerce_circuit(
    obj: Any,
    where: str,
    *,
    allow_qir: Literal[False] = False,
    qubit_names: Sequence[str] | None = None,
) -> Circuit: ...
@overload
def coerce_circuit(
    obj: Any, where: str, *, allow_qir: bool, qubit_names: Sequence[str] | None = None
) -> Circuit | QIRCode: ...
def coerce_circuit(
    obj: Any, where: str, *, allow_qir: bool = False, qubit_names: Sequence[str] | None = None
) -> Circuit | QIRCode:
    """A circuit to submit: a shotpack :class:`Circuit` as it is, a Qiskit ``QuantumCircuit``
    converted with :func:`to_iqm_circuit`, or (``allow_qir``) QIR text as it is.

    Args:
        obj: the circuit.
        where: names the circuit in the error message (``"circuit 3"``, ``"pub 0"``).
        allow_qir: accept a ``str`` of QIR (the backend does; the primitives cannot bind QIR).
        qubit_names: IQM names of a Qiskit circuit's qubits by index (a backend's qubits);
            only the first ``num_qubits`` are used. Default ``QB1``, ``QB2``, ...

    Raises:
        TypeError: anything else.

    Example:
        >>> coerce_circuit(Circuit(name="c"), "circuit 0").name
        'c'
        >>> coerce_circuit(7, "circuit 1")
        Traceback (most recent call last):
            ...
        TypeError: circuit 1: expected a shotpack Circuit or a Qiskit QuantumCircuit, got int
    """
    if isinstance(obj, Circuit) or (allow_qir and isinstance(obj, str)):
        return obj
    if type(obj).__name__ == "QuantumCircuit":
        if qubit_names is not None and obj.num_qubits <= len(qubit_names):
            return to_iqm_circuit(obj, qubit_names=list(qubit_names)[: obj.num_qubits])
        return to_iqm_circuit(obj)
    kinds = "a shotpack Circuit, a QIR string or" if allow_qir else "a shotpack Circuit or"
    raise TypeError(f"{where}: expected {kinds} a Qiskit QuantumCircuit, got {type(obj).__name__}")


def qiskit_pub_values(pub: Any) -> Any:
    """A Qiskit PUB's parameter values as one array whose last axis runs over the circuit's
    parameters in Qiskit's order, the order in which shotpack binds a bare array.

    Args:
        pub: a Qiskit ``SamplerPub`` or ``EstimatorPub``.

    Returns:
        A float array of shape ``(*pub.parameter_values.shape, num_parameters)``.
    """
    import numpy as np

    params = pub.circuit.parameters
    values = pub.parameter_values
    if len(params) == 0:
        return np.zeros((*values.shape, 0))
    return values.as_array(params)


def from_qiskit_pub(pub: Any) -> Any:
    """A Qiskit ``SamplerPub`` / ``EstimatorPub`` as the equivalent shotpack PUB tuple; anything
    else as it is.

    A sampler PUB becomes ``(circuit, values, shots)``, an estimator PUB ``(circuit,
    observables, values, precision)``, with the values in the circuit's parameter order
    (:func:`qiskit_pub_values`) and the observables as nested lists of ``{label: coeff}``.

    Example:
        >>> from_qiskit_pub(("circuit", [0.1]))
        ('circuit', [0.1])
    """
    module = type(pub).__module__
    if not module.startswith("qiskit.primitives"):
        return pub
    name = type(pub).__name__
    if name == "SamplerPub":
        return (pub.circuit, qiskit_pub_values(pub), pub.shots)
    if name == "EstimatorPub":
        return (pub.circuit, pub.observables.tolist(), qiskit_pub_values(pub), pub.precision)
    return pub
