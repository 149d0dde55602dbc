"""Tests of shotpack.containers, laid out as the package is."""
