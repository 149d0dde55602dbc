"""Tests of shotpack.measurements, laid out as the package is."""
