"""Input-sized allocations in the extension raise MemoryError instead of aborting the interpreter.

The shared-reference list ``[[[bits] * 1000] * 1000] * 1000`` describes a billion shots in a few
kilobytes: packing it needs a gigabyte. Under an address-space limit the allocation must fail with
``MemoryError`` (as NumPy's does on the same object) and the interpreter must exit normally.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc are Linux")

CHILD = textwrap.dedent(
    """
    import resource

    import numpy as np

    from shotpack import BitArray, measurements_to_data_bin


    def vm_size():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmSize")


    # Room for the work of a small call, far from the gigabyte the shared list describes.
    limit = vm_size() + (384 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    x = [0, 1, 1, 0, 1, 0, 0, 1]
    for _ in range(3):
        x = [x] * 1000

    calls = {
        "from_bool_array": lambda: BitArray.from_bool_array(x, order="little"),
        "from_bool_array big": lambda: BitArray.from_bool_array(x),
        "measurements_to_data_bin": lambda: measurements_to_data_bin({"m": x}),
        "numpy": lambda: np.asarray(x, dtype=bool),
    }
    for name, call in calls.items():
        try:
            call()
        except MemoryError:
            print(name, "MemoryError", flush=True)
        else:
            print(name, "no error", flush=True)
    # Still usable afterwards.
    small = BitArray.from_bool_array([[1, 0, 1]], order="little")
    print("after", small.get_bitstrings()[0], flush=True)
    """
)


def test_shared_reference_list_raises_memory_error_and_exits_cleanly() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines == [
        "from_bool_array MemoryError",
        "from_bool_array big MemoryError",
        "measurements_to_data_bin MemoryError",
        "numpy MemoryError",
        "after 101",
    ], proc.stdout + proc.stderr[-2000:]


def test_shared_reference_list_packs_when_it_fits() -> None:
    # The same sharing at a size that fits: every row equals the shared one.
    from shotpack import BitArray

    x = [0, 1, 1, 0, 1, 0, 0, 1]
    for _ in range(2):
        x = [x] * 300
    ba = BitArray.from_bool_array(x, order="little")
    assert ba.shape == (300,) and ba.num_shots == 300 and ba.num_bits == 8
    assert set(ba.get_counts()) == {"10010110"}


def test_overflowing_sizes_raise_memory_error() -> None:
    from shotpack import BitArray

    with pytest.raises(MemoryError):
        BitArray.from_counts({"1": 2**63 - 1, "0": 2**63 - 1, "11": 2**63 - 1})
