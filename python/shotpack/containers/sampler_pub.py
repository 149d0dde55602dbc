"""``SamplerPub``: a circuit, parameter values and a shot count, with Qiskit's coercion rules
(see :mod:`shotpack.containers.pub_inputs` for what a circuit must offer)."""

from __future__ import annotations

from typing import Any

from shotpack.containers.bindings_array import BindingsArray
from shotpack.containers.pub_inputs import (
    check_circuit,
    check_num_parameters,
    check_shots,
    coerce_bindings,
    is_circuit,
    parameter_names,
)
from shotpack.containers.shape import ShapedMixin

__all__ = ["SamplerPub"]


class SamplerPub(ShapedMixin):
    """A circuit, parameter values and a number of shots; its shape is the values' shape.

    Args:
        circuit: any object with ``num_qubits`` and sorted ``parameters`` (see module docs).
        parameter_values: a :class:`BindingsArray` (empty when None).
        shots: a positive integer, or None for the Sampler's default.
        validate: run :meth:`validate`.

    Raises:
        TypeError: the circuit lacks the protocol, or ``shots`` is not an integer.
        ValueError: ``shots`` is not positive, or the number of values differs from the number
            of parameters.

    Example:
        >>> from types import SimpleNamespace
        >>> circ = SimpleNamespace(num_qubits=1, parameters=("t",))
        >>> SamplerPub.coerce((circ, [[0.1], [0.2]], 100)).shape
        (2,)
    """

    __slots__ = ("_circuit", "_parameter_values", "_shots")

    def __init__(
        self,
        circuit: Any,
        parameter_values: BindingsArray | None = None,
        shots: int | None = None,
        validate: bool = True,
    ) -> None:
        self._circuit = circuit
        self._parameter_values = BindingsArray.coerce(parameter_values)
        self._shots = shots
        if validate:
            self.validate()

    @classmethod
    def coerce(cls, pub: object, shots: int | None = None) -> SamplerPub:
        """A SamplerPub from a circuit or a tuple ``(circuit[, values[, shots]])``.

        Raises:
            TypeError: ``shots`` is not an integer (bools and floats are rejected).
            ValueError: ``shots`` is not positive, the tuple has the wrong length, or the PUB
                is invalid (e.g. a parametric circuit given without values).
        """
        if shots is not None:
            check_shots(shots)
        if isinstance(pub, SamplerPub):
            if pub.shots is None and shots is not None:
                return cls(pub.circuit, pub.parameter_values, shots, validate=False)
            return pub
        if is_circuit(pub):
            names = parameter_names(pub)
            if names:
                shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                raise ValueError(
                    f"The circuit has {len(names)} parameters ({shown}) but no parameter values "
                    "were given: pass the pub as a tuple (circuit, parameter_values), e.g. "
                    "`sampler.run([(circuit, values)])`."
                )
            return cls(pub, None, shots, validate=True)
        if not isinstance(pub, (tuple, list)) or len(pub) not in (1, 2, 3):
            n = len(pub) if isinstance(pub, (tuple, list)) else "?"
            raise ValueError(f"The length of pub must be 1, 2 or 3, but length {n} is given.")
        circuit = pub[0]
        check_circuit(circuit)
        values = coerce_bindings(circuit, pub[1]) if len(pub) > 1 else BindingsArray()
        if len(pub) > 2 and pub[2] is not None:
            shots = pub[2]
        return cls(circuit, values, shots, validate=True)

    def validate(self) -> None:
        """Checks the circuit, shots and number of values (see the class docs for errors)."""
        check_circuit(self._circuit)
        if self._shots is not None:
            check_shots(self._shots)
        self._parameter_values.validate()
        check_num_parameters(self._circuit, self._parameter_values)

    @property
    def circuit(self) -> Any:
        """The circuit."""
        return self._circuit

    @property
    def parameter_values(self) -> BindingsArray:
        """The parameter values."""
        return self._parameter_values

    @property
    def shots(self) -> int | None:
        """The number of shots, or None."""
        return self._shots

    @property
    def shape(self) -> tuple[int, ...]:
        """The parameter values' shape."""
        return self._parameter_values.shape

    def __repr__(self) -> str:
        return f"SamplerPub(shape={self.shape}, shots={self._shots})"
