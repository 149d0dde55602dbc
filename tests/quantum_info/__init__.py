"""Tests of shotpack.quantum_info, laid out as the package is."""
