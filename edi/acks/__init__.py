"""Acknowledgements: TA1, 999 (and 997) and 277CA files read into frozen values.

    from edi.acks import read_acks
    for ack in read_acks("acks.x12"):     # InterchangeAck, TransactionSetAck, GroupAck, ReceiverAck, ...
        ...

``edi.acks.model`` holds the values, ``edi.acks.reader`` the streaming reader and ``edi.acks.codes`` the code
tables in words.
"""

from edi.acks.model import (
    ACCEPTED_CATEGORIES,
    REJECTED_CATEGORIES,
    Ack,
    ClaimAck,
    ElementError,
    GroupAck,
    InterchangeAck,
    LineAck,
    ProviderAck,
    ReceiverAck,
    SegmentError,
    Status,
    StatusCode,
    Totals,
    TransactionSetAck,
)
from edi.acks.reader import AckParser, AckReader, parse_acks, read_acks

__all__ = [
    "ACCEPTED_CATEGORIES",
    "REJECTED_CATEGORIES",
    "Ack",
    "AckParser",
    "AckReader",
    "ClaimAck",
    "ElementError",
    "GroupAck",
    "InterchangeAck",
    "LineAck",
    "ProviderAck",
    "ReceiverAck",
    "SegmentError",
    "Status",
    "StatusCode",
    "Totals",
    "TransactionSetAck",
    "parse_acks",
    "read_acks",
]
