"""Tests of shotpack.circuit, laid out as the package is."""
