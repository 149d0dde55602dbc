"""IQM per-shot measurements to packed bits: parsing bodies and lists
(:mod:`~shotpack.measurements.parse`) and Qiskit classical registers
(:mod:`~shotpack.measurements.registers`, the one place that groups Qiskit-on-IQM keys into
registers and fills the clbits nothing measured).
"""
