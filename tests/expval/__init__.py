"""Tests of shotpack.expval, laid out as the package is."""
