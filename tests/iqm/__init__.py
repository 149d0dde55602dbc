"""Tests of shotpack.iqm, laid out as the package is."""
