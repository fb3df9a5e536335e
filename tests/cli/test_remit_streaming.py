"""`edi remit show` streams: `--json` and `--nl` carry exactly the data of the whole-document view
(`edi.x835.views.payment_json`, the documented contract) for every 835 of samples/ and ../shared/corpus, and the
first line of a large file is out before the reader has finished it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_rows
from typer.testing import CliRunner

from cli.main import app
from edi.x835.reader import read_remittances
from edi.x835.views import payment_json, payments

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
FILES = sorted(str(p) for p in (ROOT / "samples").rglob("*.835")) + [
    str(CORPUS / name) for name, _ in corpus_rows() if name.startswith("835/")]


def whole_document(path: str) -> dict:
    """What `--json` printed when it built the document in memory first: the contract."""
    reader = read_remittances(path)
    pays = [payment_json(p) for p in payments(reader)]
    return json.loads(json.dumps({"file": path, "payments": pays,
                                  "problems": [x.as_dict() for x in reader.problems]}, default=str))


@pytest.mark.parametrize("path", FILES, ids=lambda p: Path(p).name)
def test_json_carries_the_same_data_as_the_whole_document(path):
    result = runner.invoke(app, ["remit", "show", path, "--json"])
    assert result.exit_code in (0, 1), result.output
    assert json.loads(result.stdout) == whole_document(path)


@pytest.mark.parametrize("path", FILES, ids=lambda p: Path(p).name)
def test_nl_is_one_claim_per_line_with_its_payment(path):
    result = runner.invoke(app, ["remit", "show", path, "--nl"])
    assert result.exit_code in (0, 1), result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    expected = []
    for pay in whole_document(path)["payments"]:
        for claim in pay["claims"]:
            expected.append({"control_number": pay["control_number"], "trace_number": pay["trace_number"],
                             "payer_id": pay["payer"]["id"], "payment_date": pay["payment_date"], **claim})
    assert lines == expected


def test_nl_and_json_refuse_each_other():
    result = runner.invoke(app, ["remit", "show", FILES[0], "--json", "--nl"])
    assert result.exit_code == 2 and "choose one" in result.output


def test_a_value_that_is_not_utf8_stays_json(tmp_path):
    sample = Path(ROOT / "samples" / "835" / "synthetic-payment.835").read_bytes()
    odd = tmp_path / "odd.835"
    odd.write_bytes(sample.replace(b"WILSON", b"WIL\xffSON", 1))
    result = runner.invoke(app, ["remit", "show", str(odd), "--json"])
    doc = json.loads(result.stdout_bytes.decode("utf-8"))
    assert doc["payments"][0]["claims"][0]["patient"].startswith("WIL")


def test_the_eob_names_the_patient_and_the_remark_codes(tmp_path):
    sample = Path(ROOT / "samples" / "835" / "synthetic-payment.835").read_text()
    # A claim-level MOA with two remark codes after the patient's name, and an LQ remark closing the first line.
    text = sample.replace("NM1*QC*1*WILSON*AVERY****MI*MBR96253980~", "NM1*QC*1*WILSON*AVERY****MI*MBR96253980~"
                          "\nMOA***MA01*N130~", 1)
    text = text.replace("SVC*HC:99213:59", "LQ*HE*N381~\nSVC*HC:99213:59", 1)
    path = tmp_path / "remarks.835"
    path.write_text(text)
    result = runner.invoke(app, ["remit", "show", str(path), "--descriptions", str(_texts(tmp_path))])
    out = result.stdout
    claim_row = next(x for x in out.splitlines() if x.startswith("PCN0000001"))
    assert "WILSON, AVERY" in claim_row and "MA01 Alert text" in claim_row and "N130" in claim_row
    line_row = next(x for x in out.splitlines() if x.strip().startswith("J1100"))
    assert "N381" in line_row and "CO-45 104.31" in line_row


def _texts(tmp_path: Path) -> Path:
    p = tmp_path / "texts.csv"
    p.write_text("code,description\nMA01,Alert text\n")
    return p


def test_a_large_file_prints_its_first_rows_before_it_is_read(tmp_path):
    """The first payment's header and claims reach the pipe while the reader is still far from the end."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.synth import write_835

    big = tmp_path / "big.835"
    with open(big, "wb") as fp:
        write_835(fp, 20000, per_st=20000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for shape in ([], ["--json"], ["--nl"]):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "remit", "show", str(big), *shape],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        first = proc.stdout.readline()
        first_at = time.perf_counter() - start
        rest = proc.stdout.read()
        proc.wait()
        total = time.perf_counter() - start
        assert first and rest and proc.returncode == 0
        # One transaction set of 20,000 claims: a view built per payment would print nothing until the end.
        assert first_at < total / 2, (shape, first_at, total)


def test_html_writes_a_new_private_page_of_eobs(tmp_path):
    import stat

    from lxml import html as lxml_html

    sample = str(ROOT / "samples" / "835" / "synthetic-payment.835")
    out = tmp_path / "eob.html"
    result = runner.invoke(app, ["remit", "show", sample, "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    page = lxml_html.fromstring(out.read_bytes())
    text = page.text_content()
    assert "EFT000000001" in text and all(f"PCN000000{n}" in text for n in range(1, 7))
    assert not page.xpath("//script")
    again = runner.invoke(app, ["remit", "show", sample, "--html", str(out)])
    assert again.exit_code == 2 and "never replaces" in again.output
    wrong = runner.invoke(app, ["remit", "show", str(ROOT / "samples" / "837" / "synthetic-claims.837"), "--html",
                                str(tmp_path / "no.html")])
    assert wrong.exit_code == 1 and not (tmp_path / "no.html").exists()
    both = runner.invoke(app, ["remit", "show", sample, "--json", "--html", str(tmp_path / "x.html")])
    assert both.exit_code == 2 and not (tmp_path / "x.html").exists()
