"""Saving results to ``.npz`` files or Zarr v3 stores, and loading them back.

``.npz`` (:func:`save`, :func:`load`) holds DataBins in one archive. Zarr (:func:`to_zarr`,
:func:`open_zarr`, :func:`measurements_to_zarr`; needs the ``zarr`` package) holds BitArrays,
DataBins, lists of them, PubResults and PrimitiveResults chunked along shots, in the packed
layout, and can be written from a job's measurements body circuit by circuit; see
:func:`to_zarr` for the layout.

The ``.npz`` layout:

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

import datetime
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any, Union

import numpy as np

from shotpack import _native
from shotpack._version import __version__
from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin
from shotpack.containers.primitive_result import PrimitiveResult
from shotpack.containers.pub_result import PubResult, SamplerPubResult
from shotpack.measurements.parse import data_bin_from_fields

__all__ = [
    "DEFAULT_CHUNK_SHOTS",
    "FORMAT_VERSION",
    "ZARR_FORMAT_VERSION",
    "load",
    "measurements_to_zarr",
    "open_zarr",
    "save",
    "to_zarr",
]

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


# ---- Zarr v3 --------------------------------------------------------------------------------

ZARR_FORMAT_VERSION = 1
#: Shots per chunk along the shots axis when ``chunk_shots`` is not given: 2**20 shots is 8 MiB
#: of packed 64-bit shots, large enough that per-chunk overhead is small and small enough that
#: a worker holds a few chunks at once.
DEFAULT_CHUNK_SHOTS = 1 << 20
_ATTR = "shotpack"
_CELL_BYTES = 1 << 20  # below this per cell, a chunk spans every cell of the leading axes

StoreLike = Any  # a path, a zarr store, or anything zarr.open_group accepts


def _zarr() -> Any:
    try:
        import zarr
    except ImportError as exc:  # pragma: no cover - exercised only without zarr installed
        raise ImportError(
            "Zarr storage needs the zarr package (>= 3): pip install 'shotpack[dask]' or "
            "pip install 'zarr>=3'"
        ) from exc
    return zarr


def _jsonable(value: Any) -> Any:
    """Metadata as JSON: NumPy values become lists or numbers, other objects their repr."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def bit_array_chunks(
    shape: tuple[int, ...], num_shots: int, nbytes: int, chunk_shots: int
) -> tuple[int, ...]:
    """The Zarr chunk shape of a packed ``(*shape, shots, nbytes)`` array: ``chunk_shots``
    shots, the bytes axis whole; leading axes whole when a cell is small, else one cell."""
    if chunk_shots <= 0:
        raise ValueError(f"chunk_shots must be positive, got {chunk_shots}")
    shots = max(1, min(chunk_shots, num_shots))
    small = num_shots * max(nbytes, 1) < _CELL_BYTES
    lead = tuple(max(1, s) if small else 1 for s in shape)
    return (*lead, shots, max(nbytes, 1))


def _write_bit_array(
    group: Any, name: str, ba: BitArray, chunk_shots: int, compressors: Any
) -> None:
    arr = np.asarray(ba.array)
    nbytes = arr.shape[-1]
    chunks = bit_array_chunks(ba.shape, ba.num_shots, nbytes, chunk_shots)
    z = group.create_array(
        name,
        shape=arr.shape,
        chunks=chunks,
        dtype=np.uint8,
        compressors=compressors,
        fill_value=0,
    )
    # Chunk by chunk along shots, so a memory-mapped or lazily loaded source is never copied
    # whole.
    if nbytes:
        step = chunks[-2]
        for a in range(0, ba.num_shots, step):
            z[..., a : a + step, :] = arr[..., a : a + step, :]
    z.attrs.update({_ATTR: {"kind": "bitarray", "num_bits": ba.num_bits}})


def _write_data_bin(group: Any, dbin: DataBin, chunk_shots: int, compressors: Any) -> None:
    fields = []
    for name, value in dbin.items():
        if isinstance(value, BitArray):
            _write_bit_array(group, name, value, chunk_shots, compressors)
            fields.append({"name": name, "kind": "bitarray"})
            continue
        if isinstance(value, (bool, int, float, complex, str, np.generic)):
            kind, arr = "scalar", np.asarray(value)
        elif isinstance(value, np.ndarray):
            kind, arr = "ndarray", value
        else:
            raise TypeError(f"field {name!r}: cannot store a value of type {type(value)}")
        if arr.dtype.hasobject or arr.dtype.kind in "USV":
            raise TypeError(f"field {name!r}: arrays of dtype {arr.dtype} cannot be stored")
        z = group.create_array(
            name,
            shape=arr.shape,
            dtype=arr.dtype,
            compressors=compressors,
            chunks=tuple(max(1, s) for s in arr.shape) if arr.ndim else (),
        )
        if arr.size:
            z[...] = arr
        z.attrs.update({_ATTR: {"kind": kind}})
        fields.append({"name": name, "kind": kind})
    group.attrs.update(
        {
            _ATTR: {
                "kind": "databin",
                "shape": list(dbin.shape),
                "fields": fields,
                "registers": [f["name"] for f in fields if f["kind"] == "bitarray"],
            }
        }
    )


def _root_attrs(kind: str, provenance: Mapping[str, Any] | None, **extra: Any) -> dict[str, Any]:
    prov = {
        "writer": f"shotpack {__version__}",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **dict(_jsonable(dict(provenance or {}))),
    }
    return {
        "format": "shotpack.zarr",
        "version": ZARR_FORMAT_VERSION,
        "kind": kind,
        "provenance": prov,
        **extra,
    }


def to_zarr(
    obj: BitArray | DataBin | Sequence[DataBin] | PubResult | PrimitiveResult[Any],
    store: StoreLike,
    *,
    chunk_shots: int = DEFAULT_CHUNK_SHOTS,
    provenance: Mapping[str, Any] | None = None,
    compress: bool = False,
    overwrite: bool = False,
) -> None:
    """Writes a result to a Zarr v3 store, keeping the packed layout.

    Layout: the root group's ``shotpack`` attribute holds the format, its version, the kind of
    object and ``provenance`` (writer version, UTC creation time and what the caller passes).
    A ``BitArray`` is a ``uint8 (*shape, shots, nbytes)`` array chunked along shots (the bytes
    axis whole) with ``num_bits`` in its attributes; a ``DataBin`` is a group with its shape,
    its fields in order and its register (BitArray field) names; a list of DataBins holds groups
    ``"0"``, ``"1"``, ...; a ``PubResult`` a group ``data`` and its metadata (as JSON); a
    ``PrimitiveResult`` groups ``"0"``, ``"1"``, ... of PubResults and its metadata.

    Args:
        obj: what to write.
        store: a directory path or any store ``zarr.open_group`` accepts.
        chunk_shots: shots per chunk (default :data:`DEFAULT_CHUNK_SHOTS`).
        provenance: JSON-able facts to keep (job id, device, calibration set, ...).
        compress: compress chunks with Zarr's default codec (zstd). Packed random bits do not
            compress, so the default is off; real, biased data often does.
        overwrite: replace an existing store (otherwise writing into one raises).

    Raises:
        TypeError: an object or field that cannot be stored.
        ImportError: ``zarr`` is not installed.

    Example:
        >>> bits = BitArray.from_samples(["01", "11"], num_bits=2)
        >>> to_zarr(bits, "bits.zarr", provenance={"job": "j1"})  # doctest: +SKIP
        >>> open_zarr("bits.zarr").get_counts()  # doctest: +SKIP
        {'01': 1, '11': 1}
    """
    zarr = _zarr()
    compressors = "auto" if compress else None
    root = zarr.open_group(store, mode="w" if overwrite else "w-")
    if isinstance(obj, BitArray):
        _write_bit_array(root, "bits", obj, chunk_shots, compressors)
        root.attrs.update({_ATTR: _root_attrs("bitarray", provenance)})
    elif isinstance(obj, DataBin):
        _write_data_bin(root.create_group("data"), obj, chunk_shots, compressors)
        root.attrs.update({_ATTR: _root_attrs("databin", provenance)})
    elif isinstance(obj, PubResult):
        _write_pub(root.create_group("pub"), obj, chunk_shots, compressors)
        root.attrs.update({_ATTR: _root_attrs("pub_result", provenance)})
    elif isinstance(obj, PrimitiveResult):
        for i, pub in enumerate(obj):
            _write_pub(root.create_group(str(i)), pub, chunk_shots, compressors)
        root.attrs.update(
            {
                _ATTR: _root_attrs(
                    "primitive_result",
                    provenance,
                    count=len(obj),
                    metadata=_jsonable(obj.metadata),
                )
            }
        )
    else:
        bins = _as_bin_list(obj)
        for i, dbin in enumerate(bins):
            _write_data_bin(root.create_group(str(i)), dbin, chunk_shots, compressors)
        root.attrs.update({_ATTR: _root_attrs("databins", provenance, count=len(bins))})


def _write_pub(group: Any, pub: PubResult, chunk_shots: int, compressors: Any) -> None:
    _write_data_bin(group.create_group("data"), pub.data, chunk_shots, compressors)
    group.attrs.update(
        {
            _ATTR: {
                "kind": "pub_result",
                "class": type(pub).__name__,
                "metadata": _jsonable(pub.metadata),
            }
        }
    )


def _attrs(node: Any, where: str) -> dict[str, Any]:
    meta = node.attrs.get(_ATTR)
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: not written by shotpack (no {_ATTR!r} attribute)")
    return meta


def _load_bits(z: Any, num_bits: int) -> BitArray:
    return BitArray(np.ascontiguousarray(z[...], dtype=np.uint8), num_bits)


BitArrayReader = Callable[[Any, int], Any]


def _read_bit_array(z: Any, where: str, read: BitArrayReader = _load_bits) -> Any:
    meta = _attrs(z, where)
    if meta.get("kind") != "bitarray":
        raise ValueError(f"{where}: expected a bitarray, found {meta.get('kind')!r}")
    num_bits = int(meta["num_bits"])
    if z.ndim < 2 or z.shape[-1] != (num_bits + 7) // 8:
        raise ValueError(
            f"{where}: a packed array of {num_bits} bits needs shape (..., shots, "
            f"{(num_bits + 7) // 8}), found {z.shape}"
        )
    return read(z, num_bits)


def _read_data_bin(group: Any, where: str, read: BitArrayReader = _load_bits) -> DataBin:
    meta = _attrs(group, where)
    if meta.get("kind") != "databin":
        raise ValueError(f"{where}: expected a databin, found {meta.get('kind')!r}")
    fields: dict[str, Any] = {}
    for field in meta["fields"]:
        name, kind = field["name"], field["kind"]
        if name not in group:
            raise ValueError(f"{where}: field {name!r} is missing")
        node = group[name]
        if kind == "bitarray":
            fields[name] = _read_bit_array(node, f"{where}/{name}", read)
        elif kind == "ndarray":
            fields[name] = np.asarray(node[...])
        elif kind == "scalar":
            fields[name] = np.asarray(node[...]).item()
        else:
            raise ValueError(f"{where}: field {name!r} has unknown kind {kind!r}")
    return DataBin(shape=tuple(meta["shape"]), **fields)


def _read_pub(group: Any, where: str, read: BitArrayReader = _load_bits) -> PubResult:
    meta = _attrs(group, where)
    cls = SamplerPubResult if meta.get("class") == "SamplerPubResult" else PubResult
    data = _read_data_bin(group["data"], f"{where}/data", read)
    return cls(data, dict(meta.get("metadata") or {}))


def zarr_header(store: StoreLike) -> tuple[Any, dict[str, Any]]:
    """The opened root group of a shotpack Zarr store and its ``shotpack`` attribute.

    Raises:
        ValueError: not a shotpack store, or a newer format version.
        FileNotFoundError: nothing at ``store``.
    """
    zarr = _zarr()
    try:
        root = zarr.open_group(store, mode="r")
    except FileNotFoundError:
        raise
    except Exception as exc:  # zarr raises several types for a missing or foreign store
        raise FileNotFoundError(f"no Zarr group at {store!r}: {exc}") from exc
    meta = _attrs(root, str(store))
    if meta.get("format") != "shotpack.zarr":
        raise ValueError(f"{store!r} is not a shotpack Zarr store")
    if int(meta.get("version", 0)) > ZARR_FORMAT_VERSION:
        raise ValueError(
            f"{store!r} uses shotpack Zarr format {meta['version']}; this version reads up to "
            f"{ZARR_FORMAT_VERSION}"
        )
    return root, meta


def open_zarr(store: StoreLike, *, bit_array_reader: BitArrayReader | None = None) -> Any:
    """Reads what :func:`to_zarr` or :func:`measurements_to_zarr` wrote, into memory.

    For data larger than memory, use :func:`shotpack.dask.open_zarr`, which reads the same
    stores lazily, chunk by chunk.

    Args:
        store: a directory path or any store ``zarr.open_group`` accepts.
        bit_array_reader: ``reader(zarr_array, num_bits)`` giving what each stored BitArray
            becomes (default: a ``BitArray`` read into memory; :mod:`shotpack.dask` passes
            one that returns a lazy ``DaskBitArray``).

    Returns:
        The object written: a ``BitArray``, ``DataBin``, list of DataBins, ``PubResult``
        (or ``SamplerPubResult``) or ``PrimitiveResult``. The provenance is in
        ``zarr.open_group(store).attrs["shotpack"]["provenance"]``.

    Raises:
        ValueError: not a shotpack store, a newer format, or missing parts.
        FileNotFoundError: nothing at ``store``.
        ImportError: ``zarr`` is not installed.

    Example:
        >>> data = open_zarr("job.zarr")  # doctest: +SKIP
    """
    root, meta = zarr_header(store)
    read = bit_array_reader or _load_bits
    kind = meta.get("kind")
    if kind == "bitarray":
        return _read_bit_array(root["bits"], f"{store}/bits", read)
    if kind == "databin":
        return _read_data_bin(root["data"], f"{store}/data", read)
    if kind == "databins":
        count = int(meta["count"])
        return [_read_data_bin(root[str(i)], f"{store}/{i}", read) for i in range(count)]
    if kind == "pub_result":
        return _read_pub(root["pub"], f"{store}/pub", read)
    if kind == "primitive_result":
        count = int(meta["count"])
        pubs = [_read_pub(root[str(i)], f"{store}/{i}", read) for i in range(count)]
        return PrimitiveResult(pubs, dict(meta.get("metadata") or {}))
    raise ValueError(f"{store!r}: unknown shotpack object kind {kind!r}")


# ---- a job's measurements, circuit by circuit ---------------------------------------------------

_QUOTE, _BACKSLASH, _OPEN, _CLOSE = ord('"'), ord("\\"), ord("{"), ord("}")
_MARKS = np.zeros(256, dtype=bool)
_MARKS[[_QUOTE, _BACKSLASH, _OPEN, _CLOSE]] = True
_SPACE = np.zeros(256, dtype=bool)
_SPACE[[0x20, 0x09, 0x0A, 0x0D]] = True


class _CircuitSplitter:
    """Cuts a measurements body, fed in blocks of any size, into its circuit objects.

    Only quotes, backslashes and braces are looked at in Python; there are a few per key, none
    per shot or bit (NumPy finds them). Bytes between circuits must be ``[``, ``,``, ``]`` and
    whitespace in that order; each circuit's text is parsed natively on its own.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False
        self.offset = 0  # bytes consumed so far
        self.piece: list[bytes] = []
        self.start = 0  # body offset of the current circuit
        self.between: list[bytes] = []  # the bytes outside circuits, to check the framing

    def feed(self, block: bytes) -> Iterable[tuple[int, bytes]]:
        """Yields ``(body offset, circuit text)`` for each circuit completed in ``block``."""
        arr = np.frombuffer(block, dtype=np.uint8)
        marks = np.flatnonzero(_MARKS[arr])
        pos = 0  # start of the not yet assigned part of this block
        for i in marks.tolist():
            c = block[i]
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif c == _BACKSLASH:
                    self.escaped = True
                elif c == _QUOTE:
                    self.in_string = False
                continue
            if c == _QUOTE:
                self.in_string = True
            elif c == _OPEN:
                if self.depth == 0:
                    self._outside(block[pos:i])
                    pos = i
                    self.start = self.offset + i
                self.depth += 1
            elif c == _CLOSE:
                self.depth -= 1
                if self.depth == 0:
                    self.piece.append(block[pos : i + 1])
                    pos = i + 1
                    text = b"".join(self.piece)
                    self.piece = []
                    yield self.start, text
                elif self.depth < 0:
                    raise ValueError(f"unbalanced '}}' at byte offset {self.offset + i}")
        if self.depth > 0:
            self.piece.append(block[pos:])
        else:
            self._outside(block[pos:])
        self.offset += len(block)

    def _outside(self, text: bytes) -> None:
        if text:
            arr = np.frombuffer(text, dtype=np.uint8)
            self.between.append(arr[~_SPACE[arr]].tobytes())

    def finish(self, circuits: int) -> None:
        if self.depth or self.in_string:
            raise ValueError(f"truncated measurements body at byte offset {self.offset}")
        framing = b"".join(self.between)
        expected = b"[" + b"," * max(circuits - 1, 0) + b"]"
        if framing != expected:
            raise ValueError(
                "a measurements body is a JSON list of circuit objects: [{...}, {...}]; found "
                f"{framing[:40]!r} between the circuits"
            )


def measurements_to_zarr(
    body: bytes | bytearray | memoryview | Iterable[bytes],
    store: StoreLike,
    *,
    registers: bool = False,
    chunk_shots: int = DEFAULT_CHUNK_SHOTS,
    provenance: Mapping[str, Any] | None = None,
    compress: bool = False,
    overwrite: bool = False,
) -> int:
    """Writes a job's measurements to a Zarr store circuit by circuit, as they are parsed.

    The body may be given whole or as an iterable of blocks (e.g. ``response.iter_content(1 <<
    20)`` of a streamed download). Each circuit's JSON is parsed natively as soon as it is
    complete, written as a DataBin group (chunked along shots) and dropped, so at most one
    circuit's text and its packed bits are held at once, plus the block being read; the
    whole body or all of the job's bits never are (with a body given whole, the body is held
    by the caller anyway). :func:`open_zarr` returns the list of DataBins that
    :func:`~shotpack.measurements.parse.parse_measurements` would.

    Args:
        body: the ``GET jobs/{id}/artifacts/measurements`` body, or its blocks in order.
        store: where to write (a directory path or a zarr store).
        registers: group Qiskit-on-IQM keys into classical registers, as ``parse_measurements``.
        chunk_shots: shots per Zarr chunk.
        provenance: JSON-able facts to keep (job id, ...).
        compress: compress chunks (zstd).
        overwrite: replace an existing store.

    Returns:
        The number of circuits written.

    Raises:
        ValueError: a malformed body; the message names the circuit and the byte offset in the
            body where that circuit starts (offsets inside the message count from there).

    Example:
        >>> blocks = [b'[{"m": [[0, 1]', b', [1, 1]]}, {"m": [[1, 0]]}]']
        >>> measurements_to_zarr(blocks, "job.zarr")  # doctest: +SKIP
        2
        >>> [d.m.get_bitstrings() for d in open_zarr("job.zarr")]  # doctest: +SKIP
        [['10', '11'], ['01']]
    """
    zarr = _zarr()
    compressors = "auto" if compress else None
    root = zarr.open_group(store, mode="w" if overwrite else "w-")
    blocks: Iterable[bytes]
    if isinstance(body, (bytes, bytearray, memoryview)):
        blocks = [bytes(body)]
    else:
        blocks = (bytes(b) for b in body)
    splitter = _CircuitSplitter()
    count = 0
    for block in blocks:
        for start, text in splitter.feed(block):
            try:
                [fields] = _native.parse_measurements_json(b"[" + text + b"]", registers=registers)
            except ValueError as exc:
                raise ValueError(
                    f"circuit {count} (starting at byte offset {start} of the body; offsets "
                    f"below count from its '{{' plus one): {exc}"
                ) from None
            dbin = data_bin_from_fields(fields, f"circuit {count}: ")
            _write_data_bin(root.create_group(str(count)), dbin, chunk_shots, compressors)
            count += 1
            # Record progress as we go, so a reader of a partly written store sees the count.
            root.attrs.update(
                {_ATTR: _root_attrs("databins", provenance, count=count, complete=False)}
            )
    splitter.finish(count)
    root.attrs.update({_ATTR: _root_attrs("databins", provenance, count=count, complete=True)})
    return count
