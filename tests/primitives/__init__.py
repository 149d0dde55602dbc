"""Tests of shotpack.primitives, laid out as the package is."""
