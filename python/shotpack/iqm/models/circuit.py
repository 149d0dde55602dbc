"""Circuits in the IQM Server API v1: ``Instruction`` and ``Circuit``.

Example:
    >>> from shotpack.iqm.models import Circuit, Instruction
    >>> c = Circuit(name="bell", instructions=[
    ...     Instruction(name="prx", locus=("QB1",), args={"angle": 1.0, "phase": 0.0}),
    ...     Instruction(name="measure", qubits=("QB1",), args={"key": "m"}),
    ... ])
    >>> c.instructions[1].locus
    ('QB1',)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeAlias

from pydantic import AliasChoices, Field, field_validator

from shotpack.circuit.binding import circuit_parameters
from shotpack.iqm.models.base import WireModel

Locus: TypeAlias = tuple[str, ...]
"""Names of the components (qubits, resonators) an operation acts on, in order."""

QIRCode: TypeAlias = str
"""A circuit given as QIR text; passed through to the server unchecked."""

INTERNAL_METADATA_PREFIX = "shotpack."
"""Circuit metadata keys starting with this are shotpack's own; results do not show them."""

QUBITS_METADATA_KEY = INTERNAL_METADATA_PREFIX + "qubits"
"""Circuit metadata key declaring the circuit's qubit order (see :attr:`Circuit.qubits`)."""


def _component_sort_key(name: str) -> tuple[str, int, str]:
    """Sort key putting ``QB2`` before ``QB10``: letters, then trailing number, then name."""
    m = re.match(r"^(.*?)(\d+)$", name)
    if m is None:
        return (name, -1, name)
    return (m.group(1), int(m.group(2)), name)


def sort_components(components: Iterable[str]) -> tuple[str, ...]:
    """Sorts component names by letters, then number (``QB2`` < ``QB10``), then full name."""
    return tuple(sorted(components, key=_component_sort_key))


# ---------------------------------------------------------------------------------------------
# Circuits
# ---------------------------------------------------------------------------------------------


class Instruction(WireModel):
    """One quantum operation of a circuit.

    Args:
        name: operation name, e.g. ``"prx"``, ``"cz"``, ``"measure"``.
        locus: component names the operation acts on; the old field name ``qubits`` is accepted
            as an alias on input (``locus`` is what goes on the wire).
        args: operation arguments, e.g. ``{"angle": 1.0, "phase": 0.0}``; checked per
            operation by :mod:`shotpack.iqm.validation`, not here, so values such as parameter
            expressions can be carried until they are bound.
        implementation: name of a specific implementation, or ``None`` for the default.

    Example:
        >>> Instruction(name="cz", qubits=["QB1", "QB2"]).locus
        ('QB1', 'QB2')
    """

    name: str
    locus: Locus = Field(default=(), validation_alias=AliasChoices("locus", "qubits"))
    args: dict[str, Any] = Field(default_factory=dict)
    implementation: str | None = None

    @property
    def qubits(self) -> Locus:
        """The locus under its legacy name."""
        return self.locus


class CircuitOperation(Instruction):
    """An :class:`Instruction` built the way iqm-client 36 builds its ``CircuitOperation``:
    positionally, ``CircuitOperation(name, locus, args)``.

    Args:
        name: operation name, e.g. ``"prx"``.
        locus: component names the operation acts on.
        args: operation arguments (``{}`` when None).
        implementation: name of a specific implementation, or ``None`` for the default.

    Example:
        >>> op = CircuitOperation("prx", ("QB1",), {"angle": 1.0, "phase": 0.0})
        >>> op.locus, isinstance(op, Instruction)
        (('QB1',), True)
    """

    def __init__(
        self,
        name: str,
        locus: Iterable[str] = (),
        args: dict[str, Any] | None = None,
        implementation: str | None = None,
    ) -> None:
        super().__init__(
            name=name,
            locus=tuple(locus),
            args={} if args is None else args,
            implementation=implementation,
        )


def _as_instruction(item: Any) -> Any:
    """An operation object other than a plain :class:`Instruction` (shotpack's or iqm-client's
    ``CircuitOperation``, anything with ``name``, ``locus`` and ``args``) as the fields of an
    :class:`Instruction`; anything else is left for pydantic to validate."""
    if isinstance(item, dict) or type(item) is Instruction:
        return item
    # A CircuitOperation (or any other subclass) is stored as a plain Instruction, so circuits
    # compare equal however their operations were spelled.
    name, locus = getattr(item, "name", None), getattr(item, "locus", None)
    if isinstance(name, str) and locus is not None:
        return {
            "name": name,
            "locus": tuple(locus),
            "args": dict(getattr(item, "args", None) or {}),
            "implementation": getattr(item, "implementation", None),
        }
    return item


class Circuit(WireModel):
    """A named sequence of instructions.

    Args:
        name: circuit name (must be non-empty to be submitted).
        instructions: the operations, in order.
        metadata: free-form JSON-serialisable data kept with the circuit.
    """

    name: str
    instructions: list[Instruction] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None

    def __init__(
        self,
        name: str,
        instructions: Iterable[Any] = (),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        # Positional like iqm-client's ``Circuit(name, instructions)``; keywords work as before.
        fields: dict[str, Any] = {
            "name": name,
            "instructions": list(instructions),
            "metadata": metadata,
        }
        super().__init__(**fields)

    @field_validator("instructions", mode="before")
    @classmethod
    def _foreign_operations(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [_as_instruction(item) for item in value]
        return value

    @property
    def user_metadata(self) -> dict[str, Any]:
        """A copy of ``metadata`` without shotpack's internal keys (those starting with
        ``"shotpack."``, e.g. the qubit order and Qiskit registers ``to_iqm_circuit`` adds);
        this is what results report as the circuit's metadata."""
        return {
            k: v
            for k, v in (self.metadata or {}).items()
            if not k.startswith(INTERNAL_METADATA_PREFIX)
        }

    def all_locus_components(self) -> set[str]:
        """Every component name used by some instruction."""
        out: set[str] = set()
        for inst in self.instructions:
            out.update(inst.locus)
        return out

    # The three properties below let the PUBs use a Circuit (shotpack.containers.pub_inputs).
    @property
    def qubits(self) -> tuple[str, ...]:
        """The circuit's qubits, in the order observables index them (observable qubit ``k`` is
        ``qubits[k]``): ``metadata["shotpack.qubits"]`` when the circuit declares that list
        (``shotpack.qiskit.to_iqm_circuit`` does), else every component an instruction acts on,
        computational resonators (second component of a ``move``) excepted, in natural order
        (``QB2`` before ``QB10``)."""
        declared = (self.metadata or {}).get(QUBITS_METADATA_KEY)
        if declared is not None:
            return tuple(declared)
        resonators = {
            i.locus[1] for i in self.instructions if i.name == "move" and len(i.locus) == 2
        }
        return sort_components(self.all_locus_components() - resonators)

    @property
    def num_qubits(self) -> int:
        """``len(self.qubits)``."""
        return len(self.qubits)

    @property
    def parameters(self) -> tuple[Any, ...]:
        """The :class:`shotpack.Parameter` objects in the instruction arguments, in Qiskit's order
        (by name; ``ParameterVector`` elements by vector name, then index)."""
        return circuit_parameters(self)


# ---------------------------------------------------------------------------------------------
