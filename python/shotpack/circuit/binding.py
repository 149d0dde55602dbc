"""Binding parameter values into circuits: a circuit's parameters, and many bound copies at once.

The circuit is used through its pydantic-style shape only (``instructions`` with ``name``,
``locus``, ``args``, ``implementation``; ``model_construct``), so this module sits below the IQM
models that call it (:attr:`shotpack.iqm.models.Circuit.parameters`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from shotpack.circuit.parameters import Parameter, ParameterExpression, sorted_parameters

if TYPE_CHECKING:
    from shotpack.iqm.models import Circuit

__all__ = ["bind_circuit_array", "check_parameter_names", "circuit_parameters"]

#: The circuit type: the bound copies have the type of the circuit given.
C = TypeVar("C", bound="Circuit")


def circuit_parameters(circuit: Circuit) -> tuple[Parameter, ...]:
    """The parameters of an IQM circuit's instruction arguments, in Qiskit's order.

    Args:
        circuit: a :class:`shotpack.iqm.models.Circuit` whose ``args`` may hold
            :class:`ParameterExpression` values.

    Returns:
        The parameters in Qiskit's order (by name; vector elements by index), each once.

    Raises:
        ValueError: two different parameters share a name.

    Example:
        >>> from shotpack.iqm.models import Circuit, Instruction
        >>> from shotpack.circuit.parameters import Parameter
        >>> b, a = Parameter("b"), Parameter("a")
        >>> c = Circuit(name="c", instructions=[
        ...     Instruction(name="prx", locus=("QB1",), args={"angle": 2 * b, "phase": a})])
        >>> [p.name for p in circuit_parameters(c)]
        ['a', 'b']
    """
    params: set[Parameter] = set()
    for inst in circuit.instructions:
        for value in inst.args.values():
            if isinstance(value, ParameterExpression):
                params |= value.parameters
    return sorted_parameters(params)


def bind_circuit_array(circuit: C, names: Sequence[str], values: ArrayLike) -> list[C]:
    """Binds a circuit's parameters for many parameter sets at once.

    Each parametric argument is evaluated once over all parameter sets with NumPy; then one
    circuit per set is assembled, sharing the instructions that have no parameters.

    Args:
        circuit: the circuit (instruction ``args`` may hold :class:`ParameterExpression`).
        names: parameter names, one per column of ``values``; must be exactly the circuit's
            parameters, in any order.
        values: real array of shape ``(num_sets, len(names))``.

    Returns:
        ``num_sets`` circuits whose arguments are all plain floats, in row order.

    Raises:
        ValueError: ``values`` has the wrong shape, or ``names`` misses a parameter of the
            circuit or names one it does not have (both listed in the message).
        TypeError: ``values`` is not real.

    Example:
        >>> from shotpack.iqm.models import Circuit, Instruction
        >>> from shotpack.circuit.parameters import Parameter
        >>> t = Parameter("t")
        >>> c = Circuit(name="c", instructions=[
        ...     Instruction(name="prx", locus=("QB1",), args={"angle": 2 * t, "phase": 0.0})])
        >>> [i.instructions[0].args["angle"] for i in bind_circuit_array(c, ["t"], [[0.5], [1.0]])]
        [1.0, 2.0]
    """
    arr = np.asarray(values)
    if np.iscomplexobj(arr):
        raise TypeError("parameter values must be real")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise ValueError(
            f"parameter values must have shape (num_sets, {len(names)}), got {arr.shape}"
        )
    params = circuit_parameters(circuit)
    check_parameter_names(circuit.name, [p.name for p in params], names)
    num_sets = arr.shape[0]
    columns = {name: arr[:, j] for j, name in enumerate(names)}
    # (instruction index, {arg: values per set}) for every instruction with a parametric arg.
    bound: dict[int, dict[str, list[float]]] = {}
    for ii, inst in enumerate(circuit.instructions):
        for arg, value in inst.args.items():
            if isinstance(value, ParameterExpression):
                evaluated = np.broadcast_to(value.evaluate(columns), (num_sets,))
                if not np.all(np.isfinite(evaluated)):
                    bad = int(np.flatnonzero(~np.isfinite(evaluated))[0])
                    raise ValueError(
                        f"circuit {circuit.name!r}, instruction {ii} ({inst.name}): argument "
                        f"{arg!r} = {value} is not finite for parameter set {bad}"
                    )
                bound.setdefault(ii, {})[arg] = evaluated.tolist()
    if not bound:
        return [circuit] * num_sets
    out: list[C] = []
    base = list(circuit.instructions)
    for k in range(num_sets):
        instructions = list(base)
        for ii, args in bound.items():
            inst = base[ii]
            new_args = dict(inst.args)
            for arg, vals in args.items():
                new_args[arg] = vals[k]
            instructions[ii] = type(inst).model_construct(
                name=inst.name, locus=inst.locus, args=new_args, implementation=inst.implementation
            )
        out.append(
            type(circuit).model_construct(
                name=circuit.name, instructions=instructions, metadata=circuit.metadata
            )
        )
    return out


def check_parameter_names(circuit_name: str, wanted: Sequence[str], given: Sequence[str]) -> None:
    """Checks that ``given`` parameter names are exactly the circuit's ``wanted`` ones.

    Raises:
        ValueError: names are missing, unknown or repeated; the message lists them.
    """
    if len(set(given)) != len(given):
        dup = sorted({n for n in given if list(given).count(n) > 1})
        raise ValueError(f"parameter values name {dup} more than once")
    missing = sorted(set(wanted) - set(given))
    unknown = sorted(set(given) - set(wanted))
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"no value for parameter(s) {missing}")
        if unknown:
            parts.append(f"value(s) for unknown parameter(s) {unknown}")
        raise ValueError(
            f"circuit {circuit_name!r} has parameters {sorted(wanted)}: " + "; ".join(parts)
        )
