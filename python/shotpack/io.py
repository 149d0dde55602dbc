"""Saving DataBins to ``.npz`` files and loading them back.

The file is an ordinary NumPy ``.npz`` archive (readable with ``np.load`` and no pickling):

* ``__shotpack__``: a JSON header (as a 0-d unicode array) with the format version, whether one
  DataBin or a list was saved, and for each DataBin its shape and fields, in order: the field
  name, its kind (``bitarray``, ``ndarray`` or ``scalar``) and, for bit arrays, ``num_bits``;
* ``b{i}_f{j}``: the array of field ``j`` of DataBin ``i`` (a BitArray's packed ``uint8`` array,
  stored as is, so nothing is unpacked on either side).

Example:
    >>> import numpy as np, shotpack, tempfile, os
    >>> bits = shotpack.BitArray(np.zeros((4, 1), dtype=np.uint8), 3)
    >>> path = os.path.join(tempfile.mkdtemp(), "data.npz")
    >>> shotpack.save(path, shotpack.DataBin(meas=bits))
    >>> shotpack.load(path).meas
    BitArray(<shape=(), num_shots=4, num_bits=3>)
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from typing import IO, Any, Union

import numpy as np

from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT_VERSION = 1
_HEADER = "__shotpack__"

PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]


def save(file: PathOrFile, data: DataBin | Sequence[DataBin], *, compress: bool = True) -> None:
    """Saves one DataBin, or a sequence of them, to an ``.npz`` file.

    Args:
        file: path or binary file object (NumPy adds ``.npz`` to a path without it).
        data: a :class:`DataBin` or a sequence of them (e.g. one per circuit, or the ``data``
            of each PubResult). Field values may be :class:`BitArray`, NumPy arrays of a
            non-object dtype, or Python/NumPy numbers, bools and strings.
        compress: deflate the archive (``np.savez_compressed``); packed bits of real data
            compress well, random bits do not.

    Raises:
        TypeError: ``data`` is not a DataBin or a sequence of them, or a field holds a value of
            another type (the message names the DataBin and field).

    Example:
        >>> save("counts.npz", [bin0, bin1])  # doctest: +SKIP
    """
    single = isinstance(data, DataBin)
    bins: list[Any] = [data] if single else _as_bin_list(data)
    header: dict[str, Any] = {"format": "shotpack.databins", "version": FORMAT_VERSION}
    header["single"] = single
    arrays: dict[str, np.ndarray] = {}
    described = []
    for i, dbin in enumerate(bins):
        fields = []
        for j, (name, value) in enumerate(dbin.items()):
            key = f"b{i}_f{j}"
            if isinstance(value, BitArray):
                fields.append({"name": name, "kind": "bitarray", "num_bits": value.num_bits})
                arrays[key] = value.array
            elif isinstance(value, np.ndarray):
                if value.dtype.hasobject:
                    raise TypeError(f"DataBin {i}, field {name!r}: object arrays cannot be saved")
                fields.append({"name": name, "kind": "ndarray"})
                arrays[key] = value
            elif isinstance(value, (bool, int, float, complex, str, np.generic)):
                fields.append({"name": name, "kind": "scalar"})
                arrays[key] = np.asarray(value)
            else:
                raise TypeError(
                    f"DataBin {i}, field {name!r}: cannot save a value of type {type(value)}"
                )
        described.append({"shape": list(dbin.shape), "fields": fields})
    header["bins"] = described
    payload: dict[str, Any] = {_HEADER: np.asarray(json.dumps(header)), **arrays}
    writer = np.savez_compressed if compress else np.savez
    writer(file, **payload)


def _as_bin_list(data: object) -> list[DataBin]:
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise TypeError(f"save expects a DataBin or a sequence of DataBins, got {type(data)}")
    out = list(data)
    for i, item in enumerate(out):
        if not isinstance(item, DataBin):
            raise TypeError(f"item {i} is a {type(item)}, not a DataBin")
    return out


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
_NPY_MAGIC = b"\x93NUMPY"


def _magic(file: PathOrFile) -> bytes:
    """The first bytes of ``file``, leaving a file object's position where it was."""
    if hasattr(file, "read"):
        stream: Any = file
        start = stream.tell()
        head = stream.read(len(_NPY_MAGIC))
        stream.seek(start)
        return bytes(head)
    with open(file, "rb") as f:
        return f.read(len(_NPY_MAGIC))


def load(file: PathOrFile) -> DataBin | list[DataBin]:
    """Loads DataBins saved with :func:`save`.

    Args:
        file: path or binary file object of an ``.npz`` written by :func:`save` (or by
            ``shotpack convert --to npz``).

    Returns:
        A :class:`DataBin` if one was saved, else a list of them; BitArrays come back with their
        packed arrays as stored (no copy beyond reading the file).

    Raises:
        ValueError: the file is not an ``.npz`` archive, not a shotpack one (no or bad header,
            missing arrays), or comes from a newer format version.
        OSError: the path cannot be opened (e.g. ``FileNotFoundError``).

    Example:
        >>> bins = load("counts.npz")  # doctest: +SKIP
    """
    magic = _magic(file)
    if not magic.startswith(_ZIP_MAGIC) and not magic.startswith(_NPY_MAGIC):
        # np.load would take any other bytes for a pickle and blame "pickled (object) data".
        raise ValueError(f"{file!r} is not an .npz file (it does not start with a zip header)")
    try:
        npz = np.load(file, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ValueError(f"{file!r} is not a readable .npz file: {exc}") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"{file!r} holds a single array, not shotpack DataBins")
    with npz:
        if _HEADER not in npz.files:
            raise ValueError(f"{file!r} is an .npz file without a shotpack header")
        try:
            header = json.loads(str(npz[_HEADER]))
            version = int(header["version"])
            bins_desc = header["bins"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{file!r} has a malformed shotpack header: {exc}") from exc
        if version > FORMAT_VERSION:
            raise ValueError(
                f"{file!r} uses shotpack npz format {version}; this version reads up to "
                f"{FORMAT_VERSION}"
            )
        bins: list[DataBin] = []
        for i, desc in enumerate(bins_desc):
            fields: dict[str, Any] = {}
            for j, field in enumerate(desc["fields"]):
                key = f"b{i}_f{j}"
                if key not in npz.files:
                    raise ValueError(f"{file!r}: array {key} of field {field['name']!r} is missing")
                arr = npz[key]
                kind = field["kind"]
                if kind == "bitarray":
                    fields[field["name"]] = BitArray(arr, int(field["num_bits"]))
                elif kind == "ndarray":
                    fields[field["name"]] = arr
                elif kind == "scalar":
                    fields[field["name"]] = arr.item()
                else:
                    raise ValueError(f"{file!r}: unknown field kind {kind!r}")
            bins.append(DataBin(shape=tuple(desc["shape"]), **fields))
    return bins[0] if header.get("single") else bins
