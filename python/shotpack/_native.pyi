"""Typed stubs for the Rust extension ``shotpack._native``."""

from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping
from typing import Any as _Any

__all__ = [
    "__version__",
    "assemble_registers",
    "bitcount",
    "concatenate_bits",
    "estimator_moments",
    "expectation_values",
    "get_bitstrings",
    "get_counts",
    "get_int_array",
    "get_int_counts",
    "group_qubitwise",
    "pack_bool_array",
    "pack_counts",
    "pack_nested_lists",
    "pack_samples",
    "parse_measurements_json",
    "postselect",
    "qiskit_counts",
    "qiskit_memory",
    "readout_inverse_norm",
    "readout_mitigate",
    "sample_branch_outcome_bits",
    "sample_outcome_bits",
    "set_kernels_on_calling_thread",
    "slice_bits",
    "unpack_to_bool",
]

__version__: str

# --- memory ---
import numpy as _np
from numpy.typing import NDArray as _NDArray

def qiskit_memory(registers: list[tuple[_NDArray[_np.uint8], int]], shots: int) -> list[str]: ...
def qiskit_counts(
    registers: list[tuple[_NDArray[_np.uint8], int]], shots: int
) -> dict[str, int]: ...

# --- json / registers ---
def parse_measurements_json(
    body: bytes | bytearray | memoryview | str,
    *,
    registers: bool = False,
    piece_bytes: int | None = None,
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
def set_kernels_on_calling_thread(on: bool) -> bool: ...

# --- pack / counts ---
def pack_nested_lists(
    obj: _Any, little_endian: bool, strict: bool = False
) -> tuple[_NDArray[_np.uint8], int]: ...
def pack_bool_array(array: _Any, little_endian: bool) -> tuple[_NDArray[_np.uint8], int]: ...
def unpack_to_bool(
    packed: _NDArray[_np.uint8], num_bits: int, little_endian: bool
) -> _NDArray[_np.bool_]: ...
def bitcount(packed: _NDArray[_np.uint8], num_bits: int) -> _NDArray[_np.uint64]: ...
def get_int_array(packed: _NDArray[_np.uint8], num_bits: int) -> _NDArray[_np.uint64]: ...
def slice_bits(
    packed: _NDArray[_np.uint8], num_bits: int, indices: list[int]
) -> _NDArray[_np.uint8]: ...
def concatenate_bits(
    arrays: list[_NDArray[_np.uint8]], num_bits: list[int]
) -> _NDArray[_np.uint8]: ...
def postselect(
    packed: _NDArray[_np.uint8], num_bits: int, indices: list[int], selection: list[bool]
) -> _NDArray[_np.uint8]: ...
def pack_samples(
    samples: _Iterable[_Any], num_bits: int | None = None
) -> tuple[_NDArray[_np.uint8], int]: ...
def pack_counts(
    mappings: list[_Mapping[_Any, _Any]], num_bits: int | None = None
) -> tuple[_NDArray[_np.uint8], int, list[int]]: ...
def get_counts(packed: _NDArray[_np.uint8], num_bits: int) -> dict[str, int]: ...
def get_int_counts(packed: _NDArray[_np.uint8], num_bits: int) -> dict[int, int]: ...
def get_bitstrings(packed: _NDArray[_np.uint8], num_bits: int) -> list[str]: ...

# --- mitigation ---
def readout_mitigate(
    rows: _NDArray[_np.uint8],
    num_bits: int,
    probs: _NDArray[_np.float64],
    p01: _NDArray[_np.float64],
    p10: _NDArray[_np.float64],
    distance: int | None,
    tol: float,
    max_iter: int,
) -> tuple[_NDArray[_np.float64], int, float]: ...
def readout_inverse_norm(
    rows: _NDArray[_np.uint8],
    num_bits: int,
    p01: _NDArray[_np.float64],
    p10: _NDArray[_np.float64],
    distance: int | None,
    tol: float,
    max_iter: int,
) -> float: ...

# --- sampling (the local simulator) ---
def sample_outcome_bits(
    probs: _NDArray[_np.float64], seed: int, shifts: list[int], out: _NDArray[_np.uint8]
) -> None: ...
def sample_branch_outcome_bits(
    probs: _NDArray[_np.float64],
    counts: _NDArray[_np.uint64],
    seed: int,
    shifts: list[int],
    out: _NDArray[_np.uint8],
) -> _NDArray[_np.uint32]: ...
