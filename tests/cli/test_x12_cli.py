"""`edi x12 view` and `edi x12 validate` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner
from x12text import interchange

from cli.main import app

runner = CliRunner()
GOOD = interchange("BPR*H*0*C*NON~\nTRN*1*TRACE1*1512345678~")


def test_view_indents_by_envelope_level_with_segment_numbers(tmp_path):
    path = tmp_path / "remit.835"
    path.write_bytes(GOOD)
    result = runner.invoke(app, ["x12", "view", str(path)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "1" and lines[0].lstrip("0123456789 ").startswith("ISA*00")
    assert lines[3] == "      4        BPR*H*0*C*NON"
    assert lines[-1] == "      8  IEA*1*000000001"


def test_view_json_gives_positions(tmp_path):
    path = tmp_path / "remit.835"
    path.write_bytes(GOOD)
    result = runner.invoke(app, ["x12", "view", str(path), "--json"])
    assert result.exit_code == 0
    segs = json.loads(result.stdout)
    assert segs[3] == {"segment": 4, "offset": segs[3]["offset"], "tag": "BPR", "elements": ["H", "0", "C", "NON"]}
    assert GOOD[segs[3]["offset"]:].startswith(b"BPR")


def test_validate_json_and_exit_codes(tmp_path):
    good = tmp_path / "good.835"
    good.write_bytes(GOOD)
    bad = tmp_path / "bad.835"
    bad.write_bytes(GOOD.replace(b"SE*4*0001", b"SE*9*0001"))
    ok = runner.invoke(app, ["x12", "validate", str(good), "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["ok"] is True
    result = runner.invoke(app, ["x12", "validate", str(good), str(bad), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    errors = [p for p in doc["files"][1]["problems"] if p["severity"] == "error"]
    assert [(p["code"], p["segment"]) for p in errors] == [("x12.se.count", 6)]


def test_unreadable_file_is_exit_2_without_traceback(tmp_path):
    result = runner.invoke(app, ["x12", "validate", str(tmp_path / "missing.835")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["x12", "view", str(tmp_path)])
    assert result.exit_code == 2


def test_garbage_input_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "junk.x12"
    path.write_bytes(b"\x00\xff not x12 at all \x89PNG")
    result = runner.invoke(app, ["x12", "validate", str(path)])
    assert result.exit_code == 1
    assert "x12.garbage" in result.stdout


def test_usage_error_is_exit_2():
    assert runner.invoke(app, ["x12", "validate"]).exit_code == 2


def test_a_million_problems_are_counted_not_listed(tmp_path):
    """A file of 100,000 empty segments: the person sees 50 of them and a count; --json keeps 1,000 and counts
    the rest (memory and time no longer grow with the problems)."""
    sample = (Path(__file__).resolve().parents[2] / "samples" / "835" / "synthetic-payment.835").read_bytes()
    bad = tmp_path / "empty.x12"
    bad.write_bytes(sample.split(b"~")[0] + b"~" + b"~" * 100_000)
    shown = CliRunner().invoke(app, ["x12", "validate", str(bad)])
    assert shown.exit_code == 1
    assert "... and 99,950 more x12.segment.empty" in shown.output
    assert shown.output.count("an empty segment") == 50
    assert "100000 warnings" in shown.output
    doc = json.loads(CliRunner().invoke(app, ["x12", "validate", str(bad), "--json"]).stdout)
    report = doc["files"][0]
    assert report["warnings"] == 100_000 and report["left_out"] == {"x12.segment.empty": 99_000}
    assert sum(1 for p in report["problems"] if p["code"] == "x12.segment.empty") == 1000


def test_deep_validation_that_could_not_run_is_not_called_deep(tmp_path):
    odd = tmp_path / "odd.x12"
    odd.write_bytes(b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *250101*1200*^*00501*"
                    b"000000001*0*T*:~GS*ZZ*A*B*20250101*1200*1*X*005010~ST*123*0001~BGN*00*1~SE*3*0001~GE*1*1~"
                    b"IEA*1*000000001~")
    shown = CliRunner().invoke(app, ["x12", "validate", "--deep", str(odd)])
    assert "deep validation could not run" in shown.output and "(deep)" not in shown.output
    doc = json.loads(CliRunner().invoke(app, ["x12", "validate", "--deep", "--json", str(odd)]).stdout)
    assert doc["files"][0]["deep"] is True and doc["files"][0]["deep_ran"] is False
    sample = Path(__file__).resolve().parents[2] / "samples" / "835" / "synthetic-payment.835"
    ran = json.loads(CliRunner().invoke(app, ["x12", "validate", "--deep", "--json", str(sample)]).stdout)
    assert ran["files"][0]["deep_ran"] is True
