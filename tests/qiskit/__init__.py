"""Tests of shotpack.qiskit, laid out as the package is."""
