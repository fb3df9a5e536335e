"""What a file holds, from its first segments: the kind each importer checks before it touches the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from x12text import interchange, isa

from edi.x12.sniff import sniff

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.parametrize(("sample", "kind", "sets"), [
    ("837/synthetic-claims.837", "837", ["837"]),
    ("835/synthetic-payment.835", "835", ["835"]),
    ("acks/synthetic-claims.999", "ack", ["999"]),
    ("acks/synthetic-claims.277", "ack", ["277"]),
])
def test_samples_are_known_by_their_first_transaction_set(sample, kind, sets):
    what = sniff(str(SAMPLES / sample))
    assert (what.kind, what.transaction_sets) == (kind, sets)


def test_a_ta1_alone_is_an_acknowledgement_and_the_receiver_is_read(tmp_path):
    path = tmp_path / "r.ta1"
    path.write_text(isa(7, sender="CH01", receiver="SUBMITTER")
                    + "\nTA1*000000011*250301*0900*R*006~\nIEA*0*000000007~\n")
    what = sniff(str(path))
    assert (what.kind, what.ta1, what.receivers, what.interchanges) == ("ack", True, ["SUBMITTER"], ["000000007"])


def test_other_transactions_text_and_empty_files(tmp_path):
    other = tmp_path / "x.270"
    other.write_bytes(interchange("BHT*0022*13*1*20250101*1200~", st01="270", functional_id="HS"))
    text = tmp_path / "notes.txt"
    text.write_text("dear biller, this is not X12\n")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sniff(str(other)).kind == "other"
    assert sniff(str(text)).kind is None
    assert sniff(str(empty)).kind is None


def test_every_interchange_receiver_with_no_limit(tmp_path):
    path = tmp_path / "two.837"
    path.write_bytes(interchange("BHT*0019*00*1*20250101*1200*CH~", st01="837", functional_id="HC", control=1)
                     + interchange("BHT*0019*00*2*20250101*1200*CH~", st01="837", functional_id="HC",
                                   control=2).replace(b"RECEIVER       ", b"OTHERHUB       "))
    assert sniff(str(path), limit=None).receivers == ["RECEIVER", "OTHERHUB"]
    assert sniff(str(path), limit=3).receivers == ["RECEIVER"]


def test_sniffing_a_large_file_reads_only_its_start(tmp_path):
    """A 30 MB 835 is sniffed from its first chunks: memory does not grow with the file (it once read the whole
    file into a tuple of chunks before looking at the first segment)."""
    import tracemalloc
    from pathlib import Path

    from edi.x12.sniff import sniff

    sample = (Path(__file__).resolve().parents[2] / "samples" / "835" / "synthetic-payment.835").read_bytes()
    big = tmp_path / "big.835"
    with open(big, "wb") as fp:
        for _ in range(30_000_000 // len(sample) + 1):
            fp.write(sample)
    tracemalloc.start()
    try:
        found = sniff(str(big))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found.kind == "835"
    assert peak < 2_000_000, peak
