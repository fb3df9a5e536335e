"""Thin I/O wrappers around the sans-IO tokenizer: read a path or standard input (``-``) in chunks."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import BinaryIO

from edi.x12.segment import Segment
from edi.x12.tokenizer import Tokenizer, iter_segments

CHUNK_SIZE = 1 << 20


@contextlib.contextmanager
def open_input(path: str) -> Iterator[BinaryIO]:
    """A binary stream for ``path``; ``-`` is standard input (not closed afterwards)."""
    if path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as fp:
        yield fp


def read_chunks(fp: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    while True:
        chunk = fp.read(size)
        if not chunk:
            return
        yield chunk


def read_segments(path: str, tokenizer: Tokenizer | None = None) -> Iterator[Segment]:
    """Every segment of the file at ``path`` (``-`` for standard input), streamed."""
    tok = tokenizer or Tokenizer(file=path)
    with open_input(path) as fp:
        yield from iter_segments(read_chunks(fp), tok)
