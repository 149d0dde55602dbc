"""Circuit-level concepts that do not depend on a circuit format: symbolic parameters
(:mod:`~shotpack.circuit.parameters`, a leaf) and binding values into circuits
(:mod:`~shotpack.circuit.binding`). The IQM circuit model itself is :mod:`shotpack.iqm.models`.
"""
