"""``Sampler`` and ``Estimator``: Qiskit V2-style primitives running on an IQM server.

Both take PUBs (:class:`~shotpack.EstimatorPub`, :class:`~shotpack.SamplerPub`) whose circuits are
shotpack IQM :class:`Circuit` s or Qiskit ``QuantumCircuit`` s already transpiled to IQM's native
gates (converted with :func:`shotpack.qiskit.to_iqm_circuit`), bind every parameter set with NumPy,
and submit **all circuits of all PUBs as one server job** (split into several only when
``max_circuits`` or ``max_total_shots`` require it). ``job.result()`` waits, downloads the per-shot
body once and parses it in Rust into packed bits; the results are assembled per PUB with NumPy (no
per-shot Python work).

Qubit order of observables: observable qubit ``k`` (the ``k``-th character from the right of a
label) is ``circuit.qubits[k]``: the ``k``-th qubit of the circuit in natural order of names
(``QB1 < QB2 < QB10``), or the ``k``-th entry of the qubit list the circuit declares in
``metadata["shotpack.qubits"]`` (Qiskit circuits converted by ``to_iqm_circuit`` declare their
qubits in Qiskit index order, so Qiskit observables laid out on the transpiled circuit apply).

All PUBs of one ``run`` share the server job's shot count (the largest any PUB needs); a PUB that
needs fewer shots uses the first ones of each of its circuits (shots are independent, so this is
an unbiased subsample).
"""

from shotpack.primitives.estimator import Estimator
from shotpack.primitives.job import ExecutionSpan, PrimitiveJob
from shotpack.primitives.sampler import Sampler

__all__ = ["Estimator", "ExecutionSpan", "PrimitiveJob", "Sampler"]
