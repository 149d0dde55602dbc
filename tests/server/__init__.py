"""Tests of shotpack.server, laid out as the package is."""
