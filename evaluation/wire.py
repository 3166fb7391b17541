"""Messages between the world process and the policy process: a JSON header and a frame body.

Each message is `len(header) | header (JSON) | kind (1 byte) | len(body) | body`, lengths as
8-byte little-endian integers. Two kinds of body, one per direction:

* world -> policy, the day's state frame: a pickle (fast; the policy process unpickles what the
  trusted world wrote);
* policy -> world, the actions: plain column arrays (name, dtype, raw bytes; numbers, booleans
  and fixed-width strings only). The world never unpickles what the policy sends, since
  unpickling runs code chosen by the sender: raw arrays carry data only.
"""

from __future__ import annotations

import json
import pickle
import struct
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

_LEN = struct.Struct("<Q")
NONE, PICKLE, ARRAYS = b"0", b"P", b"A"
#: A message part larger than this is refused (a runaway or hostile sender).
MAX_BYTES = 1 << 31


class WireError(RuntimeError):
    """The other side closed the pipe or sent something that is not a message."""


def _column(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        names = np.asarray(series.cat.categories.astype(str), dtype=str)
        codes = series.cat.codes.to_numpy()
        return np.where(codes >= 0, names[codes] if len(names) else "", "nan")
    values = series.to_numpy()
    return np.asarray(series.astype(str).to_numpy(), dtype=str) if values.dtype == object else values


def _arrays_bytes(frame: pd.DataFrame) -> bytes:
    """Columns as (name, dtype, length, raw bytes): numbers, booleans and fixed-width strings only."""
    parts = []
    for name in frame.columns:
        values = np.ascontiguousarray(_column(frame[name]))
        meta = json.dumps({"name": str(name), "dtype": values.dtype.str, "n": len(values)}).encode()
        raw = values.tobytes()
        parts += [_LEN.pack(len(meta)), meta, _LEN.pack(len(raw)), raw]
    return b"".join(parts)


def _arrays_frame(body: bytes) -> pd.DataFrame:
    """The inverse of _arrays_bytes, refusing any dtype that is not plain data (no objects)."""
    columns: dict[str, np.ndarray] = {}
    view, pos = memoryview(body), 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(view):
            raise WireError("message body ends inside a column")
        chunk = view[pos : pos + n].tobytes()
        pos += n
        return chunk

    while pos < len(view):
        (n,) = _LEN.unpack(take(_LEN.size))
        meta = json.loads(take(n))
        dtype = np.dtype(str(meta["dtype"]))
        if dtype.kind not in "biufU" or dtype.hasobject:
            raise WireError(f"column {meta['name']!r} of dtype {dtype} refused: numbers, booleans, strings only")
        (m,) = _LEN.unpack(take(_LEN.size))
        values = np.frombuffer(take(m), dtype=dtype)
        if len(values) != int(meta["n"]) or str(meta["name"]) in columns:
            raise WireError(f"column {meta['name']!r} is malformed or repeated")
        columns[str(meta["name"])] = values
    return pd.DataFrame(columns)


def send(stream: BinaryIO, header: dict[str, Any], frame: pd.DataFrame | None = None, trusted: bool = False) -> None:
    """Write one message; `trusted` (the world's side only) pickles the frame, otherwise plain arrays."""
    head = json.dumps(header).encode()
    if frame is None:
        kind, body = NONE, b""
    elif trusted:
        kind, body = PICKLE, pickle.dumps(frame, protocol=5)
    else:
        if frame.columns.duplicated().any():
            raise ValueError(f"a frame with duplicated column names cannot be sent: {list(frame.columns)}")
        kind, body = ARRAYS, _arrays_bytes(frame)
    stream.write(_LEN.pack(len(head)) + head + kind + _LEN.pack(len(body)) + body)
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise WireError("the other process closed the pipe")
    return data


def receive(stream: BinaryIO, allow_pickle: bool = False) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """One message: its header and its frame (None when it has none). The world side never allows pickles."""
    (n,) = _LEN.unpack(_read_exact(stream, _LEN.size))
    if n > MAX_BYTES:
        raise WireError(f"message header of {n} bytes refused")
    try:
        header = json.loads(_read_exact(stream, n))
    except ValueError as exc:
        raise WireError(f"message header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise WireError("message header is not a JSON object")
    kind = _read_exact(stream, 1)
    (m,) = _LEN.unpack(_read_exact(stream, _LEN.size))
    if m > MAX_BYTES:
        raise WireError(f"message body of {m} bytes refused")
    body = _read_exact(stream, m)
    if kind == NONE:
        return header, None
    if kind == PICKLE and allow_pickle:
        return header, pickle.loads(body)
    if kind == ARRAYS:
        try:
            return header, _arrays_frame(body)
        except (ValueError, TypeError, KeyError, struct.error) as exc:
            raise WireError(f"message body is not plain column arrays: {exc}") from None
    raise WireError(f"message body of kind {kind!r} refused")
