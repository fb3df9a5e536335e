"""`edi.x835.export`'s tables: the CSV writer joins plain rows itself and must write exactly what Python's `csv`
module writes, for every value a remittance can hold (commas, quotes and line breaks in names included)."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import given
from hypothesis import strategies as st

from edi.x835.export import COLUMNS, CsvTable, NdjsonTable

TEXT = st.text(alphabet=st.sampled_from('AZ az09 ,."\r\n-:*\'é'), max_size=12)
VALUE = st.one_of(st.none(), TEXT, st.integers(min_value=-5, max_value=10**6))
ROWS = st.lists(st.tuples(*[VALUE] * 5), max_size=8)


def csv_module(rows, columns) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    w.writerows(rows)
    return buf.getvalue()


def ours(rows, columns, *, one_at_a_time: bool) -> str:
    buf = io.StringIO()
    t = CsvTable(buf, columns)
    if one_at_a_time:
        for row in rows:
            t.write(row)
    else:
        t.write_many(rows)
    return buf.getvalue()


@given(ROWS, st.booleans())
def test_csv_is_what_the_csv_module_writes(rows, one_at_a_time):
    columns = ("a", "b", "c", "d", "e")
    assert ours(rows, columns, one_at_a_time=one_at_a_time) == csv_module(rows, columns)


def test_a_payer_name_with_a_comma_and_quotes_is_quoted():
    columns = COLUMNS["claims"][:3]
    rows = [("era.835", 'ACME, "THE" PLAN', None), ("era.835", "PLAIN", 7)]
    text = ours(rows, columns, one_at_a_time=False)
    assert text == 'file,transaction,trace_number\r\nera.835,"ACME, ""THE"" PLAN",\r\nera.835,PLAIN,7\r\n'
    assert list(csv.reader(io.StringIO(text)))[1] == ["era.835", 'ACME, "THE" PLAN', ""]


def test_ndjson_rows_are_objects_in_column_order_with_nulls():
    buf = io.BytesIO()
    t = NdjsonTable(buf, ("file", "amount", "segment"))
    t.write_many([("era.835", "10.00", 12), ("era.835", None, None)])
    t.write(("x\udcffy.835", "1.00", 3))  # a file name that was not UTF-8: escaped, still JSON
    lines = buf.getvalue().decode("ascii").splitlines()
    assert lines[0] == '{"file":"era.835","amount":"10.00","segment":12}'
    assert json.loads(lines[1]) == {"file": "era.835", "amount": None, "segment": None}
    assert json.loads(lines[2])["file"] == "x\udcffy.835"
