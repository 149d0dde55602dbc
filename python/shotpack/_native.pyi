"""Typed stubs for the Rust extension ``shotpack._native``."""

__version__: str
