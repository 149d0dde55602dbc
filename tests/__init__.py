"""Tests of shotpack, laid out as the package is."""
