"""Qiskit-compatible data containers: shapes, packed bits, results, bindings, observables and
PUBs.

One class per module: :mod:`~shotpack.containers.bit_array` (``BitArray``),
:mod:`~shotpack.containers.data_bin`, :mod:`~shotpack.containers.pub_result`,
:mod:`~shotpack.containers.primitive_result`, :mod:`~shotpack.containers.bindings_array`,
:mod:`~shotpack.containers.observables_array`, :mod:`~shotpack.containers.estimator_pub`,
:mod:`~shotpack.containers.sampler_pub`; :mod:`~shotpack.containers.shape` has the mixin they
share and :mod:`~shotpack.containers.pub_inputs` what a PUB needs from a circuit. The public
names are importable from :mod:`shotpack` itself.
"""
