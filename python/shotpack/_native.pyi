"""Typed stubs for the Rust extension ``shotpack._native``."""

__version__: str

# --- memory ---
import numpy as _np
from numpy.typing import NDArray as _NDArray

def qiskit_memory(
    registers: list[tuple[_NDArray[_np.uint8], int]], shots: int
) -> list[str]: ...
def qiskit_counts(
    registers: list[tuple[_NDArray[_np.uint8], int]], shots: int
) -> dict[str, int]: ...

# --- json / registers ---
def parse_measurements_json(
    body: bytes | bytearray | memoryview | str, *, registers: bool = False
) -> list[list[tuple[str, _NDArray[_np.uint8], int]]]: ...
def assemble_registers(
    names: list[str], arrays: list[_NDArray[_np.uint8]], num_bits: list[int]
) -> list[tuple[str, _NDArray[_np.uint8], int]]: ...

# --- expval ---
def expectation_values(
    data: _NDArray[_np.uint8],
    num_cells: int,
    num_shots: int,
    num_bits: int,
    z: _NDArray[_np.uint64],
    p: _NDArray[_np.uint64],
    v: _NDArray[_np.uint64],
    obs_ptr: _NDArray[_np.int64],
    obs_terms: _NDArray[_np.int64],
    obs_coeffs: _NDArray[_np.float64],
    out_cell: _NDArray[_np.int64],
    out_obs: _NDArray[_np.int64],
) -> _NDArray[_np.float64]: ...
def estimator_moments(
    groups: list[
        tuple[
            _NDArray[_np.uint8],
            int,
            int,
            _NDArray[_np.uint8] | None,
            _NDArray[_np.uint64],
            _NDArray[_np.uint64],
            _NDArray[_np.uint64],
        ]
    ],
    part_group: _NDArray[_np.int64],
    part_cell: _NDArray[_np.int64],
    part_ptr: _NDArray[_np.int64],
    part_terms: _NDArray[_np.int64],
    part_coeffs: _NDArray[_np.float64],
    offsets: _NDArray[_np.float64],
) -> tuple[_NDArray[_np.float64], _NDArray[_np.float64], _NDArray[_np.float64]]: ...
def group_qubitwise(
    x: _NDArray[_np.uint64], z: _NDArray[_np.uint64], ptr: _NDArray[_np.int64]
) -> _NDArray[_np.int64]: ...
