"""Decoder for the one protobuf artifact the client reads: channel properties.

IQM servers serve ``quantum-computers/{qc}/artifacts/channel-properties`` as a protobuf
``ChannelPropertyDictionary``. The client only needs, per channel, whether it is an AWG channel
and its ``fast_feedback_sources``, so a small wire-format reader avoids a protobuf dependency.

Field numbers used (message ``iqm.data_definitions.common.v1``):
``ChannelPropertyDictionary.channel_property_mapping = 1`` (map<string, ChannelPropertyEntry>,
i.e. repeated entries with ``key = 1``, ``value = 2``); ``ChannelPropertyEntry.awg = 1``,
``ro = 2``; ``AWGProperties.fast_feedback_sources = 3`` (repeated string).

Example:
    >>> decode_channel_properties(b"").channel_property_mapping
    {}
"""

from __future__ import annotations

from collections.abc import Iterator

from shotpack.iqm.models.architecture import (
    AWGChannelProperties,
    ChannelPropertyDictionary,
    ChannelPropertyEntry,
)


class ProtobufDecodeError(ValueError):
    """The bytes are not a valid protobuf message of the expected shape."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufDecodeError(f"truncated varint at byte {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufDecodeError(f"varint too long at byte {pos}")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yields ``(field_number, wire_type, value)``; length-delimited values are bytes.

    Raises:
        ProtobufDecodeError: truncated data or an unsupported wire type, with the byte offset.
    """
    pos = 0
    n = len(buf)
    while pos < n:
        start = pos
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if field == 0:
            raise ProtobufDecodeError(f"field number 0 at byte {start}")
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield field, wire, value
        elif wire == 1 or wire == 5:
            size = 8 if wire == 1 else 4
            if pos + size > n:
                raise ProtobufDecodeError(f"truncated fixed field at byte {start}")
            yield field, wire, int.from_bytes(buf[pos : pos + size], "little")
            pos += size
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > n:
                raise ProtobufDecodeError(f"truncated length-delimited field at byte {start}")
            yield field, wire, buf[pos : pos + length]
            pos += length
        else:
            raise ProtobufDecodeError(f"unsupported wire type {wire} at byte {start}")


def _bytes_fields(buf: bytes, number: int) -> Iterator[bytes]:
    for field, wire, value in iter_fields(buf):
        if field == number and wire == 2 and isinstance(value, bytes):
            yield value


def decode_channel_properties(buf: bytes) -> ChannelPropertyDictionary:
    """Decodes a ``ChannelPropertyDictionary`` (AWG feedback sources and readout markers).

    Raises:
        ProtobufDecodeError: malformed bytes.
    """
    mapping: dict[str, ChannelPropertyEntry] = {}
    for entry in _bytes_fields(buf, 1):
        key = ""
        entry_value = b""
        for field, wire, value in iter_fields(entry):
            if wire == 2 and isinstance(value, bytes):
                if field == 1:
                    try:
                        key = value.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise ProtobufDecodeError(f"channel name is not UTF-8: {e}") from None
                elif field == 2:
                    entry_value = value
        awg: AWGChannelProperties | None = None
        ro: dict[str, object] | None = None
        for field, wire, value in iter_fields(entry_value):
            if wire != 2 or not isinstance(value, bytes):
                continue
            if field == 1:
                sources = [s.decode("utf-8", "replace") for s in _bytes_fields(value, 3)]
                awg = AWGChannelProperties(fast_feedback_sources=sources)
            elif field == 2:
                ro = {}
        mapping[key] = ChannelPropertyEntry(awg=awg, ro=ro)
    return ChannelPropertyDictionary(channel_property_mapping=mapping)
