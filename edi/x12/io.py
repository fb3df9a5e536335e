"""Thin I/O wrappers around the sans-IO tokenizer: read a path or standard input (``-``) in chunks."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from edi.problems import Problem, Problems, by_position
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


def with_end(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks (empty ones left out), then ``b""``: end of input for the tokenizer."""
    for chunk in chunks:
        if chunk:
            yield chunk
    yield b""


def parse_all(data: bytes, parser, file: str = "<bytes>") -> tuple[list, list[Problem]]:
    """Every item a transaction parser gives for in-memory X12 (for tests and small inputs), and the problems
    of the tokenizer, the envelope checker and the parser, by position. ``parser`` is sans-IO: fed one segment at
    a time with ``segment(seg)`` (a list of items back), then ``close()``; it keeps its ``problems``."""
    from edi.x12.envelope import EnvelopeChecker

    tok = Tokenizer(file=file)
    env = EnvelopeChecker(file)
    items: list = []
    for seg in tok.feed(data) + tok.close():
        env.segment(seg)
        items += parser.segment(seg)
    items += parser.close()
    env.close()
    return items, by_position(tok.problems + env.problems + parser.problems)


class StreamedReader:
    """Iterate the items a transaction parser makes of a file (``-`` for standard input), streamed: the file is
    tokenized a chunk at a time, each segment fed to the parser (``feed(elements, index)``; it learns the
    component separator from each ISA as ``parser.component``), the envelope checked on the way (the body
    segments between two envelope segments are counted at once). ``problems`` holds every problem found
    (syntax, envelope, content) once iteration ends, by position; ``segments`` and ``bytes`` what was read.
    Subclasses give ``make_parser(path)``. (The 835 reader runs its own copy of this loop, with the parser's
    dispatch inlined: there it is the hot path.)"""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = Problems()  # at most KEEP_PER_CODE per code, the rest counted
        self.segments = 0
        self.bytes = 0

    def make_parser(self, path: str):  # pragma: no cover - abstract
        raise NotImplementedError

    def __iter__(self) -> Iterator:
        with open_input(self.path) as fp:
            yield from self.read(read_chunks(fp))

    def read(self, chunks: Iterable[bytes]) -> Iterator:
        from edi.x12.envelope import ENVELOPE_TAGS, EnvelopeChecker

        tok = Tokenizer(file=self.path)
        env = EnvelopeChecker(self.path)
        parser = self.make_parser(self.path)
        envelope = ENVELOPE_TAGS
        idx = 0
        counted = 0  # the segments up to this number have been counted by the envelope checker
        last: list[str] = []  # the segment before the current one
        try:
            for chunk in with_end(chunks):
                self.bytes += len(chunk)
                for els in tok.elements(chunk):
                    idx += 1
                    if els[0] in envelope:
                        body = idx - 1 - counted  # the body segments since the last envelope segment, at once
                        env.body(body, Segment(last, idx - 1) if body else None)
                        counted = idx
                        env.segment(Segment(els, idx, 0, tok.delimiters))
                        if tok.delimiters is not None:
                            parser.component = tok.delimiters.component
                    items = parser.feed(els, idx)
                    if items:
                        yield from items
                    last = els
            body = idx - counted
            env.body(body, Segment(last, idx) if body else None)
            yield from parser.close()
            env.close()
        finally:
            self.segments = idx
            self.problems = by_position(tok.problems + env.problems + parser.problems)
