"""Just enough of protobuf's binary wire format to read and write the model files by hand.

Caffe's ``.caffemodel`` and ONNX's ``.onnx`` files are protobuf messages. A message is a run
of fields; each field is a key (``field number << 3 | wire type``, written as a varint) and a
value, by wire type:

* 0: a varint (an integer in 7-bit groups, low group first, the high bit of each byte set
  when more follow);
* 1: 8 bytes; 5: 4 bytes (little-endian);
* 2: a varint length and that many bytes: a string, a nested message or a packed array.

``fields`` reads a message's fields; ``field`` and ``varint`` write them. ``helpers.model.caffe``
reads the weights with them (where OpenCV 5 no longer can), ``helpers.model.onnx_file`` reads an
ONNX file's metadata without loading its 129 MB, and ``tools/standin_model.py`` writes
stand-in weights for the tests. Notebook 02_photo opens the model files with them.

Reference: https://protobuf.dev/programming-guides/encoding/
"""

from __future__ import annotations

from collections.abc import Iterator


class WireFormatError(ValueError):
    """The bytes are not a protobuf message (truncated, or another kind of file)."""


def read_varint(data: memoryview | bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` of ``data`` and the position after it.

    Examples
    --------
    >>> read_varint(b"\\xac\\x02", 0)
    (300, 2)
    """
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireFormatError("a number runs past the end of the data")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """The fields of one message, in file order.

    Parameters
    ----------
    data : memoryview
        The message's bytes.

    Yields
    ------
    (number, wire_type, value)
        ``value`` is an int for wire types 0, 1 and 5, and a view of the bytes (not a copy)
        for wire type 2.

    Raises
    ------
    WireFormatError
        A field runs past the end, or has a wire type protobuf no longer uses (3, 4: groups).
    """
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > len(data):
                raise WireFormatError("a value runs past the end of the data")
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        elif wire == 2:
            length, pos = read_varint(data, pos)
            if pos + length > len(data):
                raise WireFormatError("the data ends in the middle of a field: it is truncated")
            value, pos = data[pos:pos + length], pos + length
        else:
            raise WireFormatError(f"unknown wire type {wire}: not a protobuf message of this kind")
        yield number, wire, value


def packed_ints(value: int | memoryview) -> list[int]:
    """The values of a repeated integer field: one varint (unpacked), or a packed run of them."""
    if isinstance(value, int):
        return [value]
    numbers, pos = [], 0
    while pos < len(value):
        number, pos = read_varint(value, pos)
        numbers.append(number)
    return numbers


def varint(value: int) -> bytes:
    """``value`` (>= 0) as a varint.

    Examples
    --------
    >>> varint(300)
    b'\\xac\\x02'
    """
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): a string, nested message or packed array."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload
