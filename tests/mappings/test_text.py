"""Encounter text and X12's character sets (ASCII): names, addresses and notes outside ASCII are spelled in ASCII
with a warning naming each field (or refused, as edi.toml may say); invisible format characters (Unicode Cf, such
as the right-to-left override) and text with no ASCII spelling are refused, naming the field; an encounter id
holding a lone surrogate is a problem, never a crash."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest
from mapping_helpers import ROOT, SAMPLES, TODAY, build, codes, errors, professional, sample_config

from mappings.claims import build_claims
from mappings.encounter import encounter_from_dict, to_ascii


def subscriber(**changes: str) -> dict:
    sub = dict(professional()["subscriber"])
    address = dict(sub["address"])
    for key, value in changes.items():
        if key in address:
            address[key] = value
        else:
            sub[key] = value
    sub["address"] = address
    return sub


@pytest.mark.parametrize(("text", "ascii"), [
    ("MÜLLER", "MULLER"), ("JOSÉ", "JOSE"), ("1 Hauptstraße", "1 Hauptstrasse"), ("1 HAUPTSTRAẞE", "1 HAUPTSTRASSE"),
    ("ØSTERGÅRD", "OSTERGARD"),
    ("ŁÓDŹ", "LODZ"), ("O’BRIEN", "O'BRIEN"), ("SMITH", "SMITH"),
    ("山田", None), ("ANNA\u202e", None), ("ZERO\u200bWIDTH", None),
])
def test_to_ascii(text, ascii):
    assert to_ascii(text) == ascii


def test_names_and_addresses_are_sent_in_ascii_with_a_warning_naming_each_field():
    claims, problems = build([professional(subscriber=subscriber(last_name="MÜLLER", first_name="JOSÉ",
                                                                 line1="1 HAUPTSTRAẞE", city="SÃO PAULO"),
                                           note="PATIENT PREFERS ESPAÑOL")])
    assert errors(problems) == []
    [claim] = claims
    sub = claim.subscriber
    assert (sub.last_name, sub.first_name, sub.address.line1, sub.address.city) == (
        "MULLER", "JOSE", "1 HAUPTSTRASSE", "SAO PAULO")
    warned = {p.where.element for p in problems if p.code == "encounter.text.transliterated"}
    assert warned == {"subscriber.last_name", "subscriber.first_name", "subscriber.address.line1",
                      "subscriber.address.city", "note"}
    assert all("MÜLLER" not in p.message for p in problems)  # the field is named, its value never quoted


def test_edi_toml_may_refuse_text_outside_ascii_instead():
    config = sample_config()
    refusing = dataclasses.replace(config, billing=dataclasses.replace(config.billing, non_ascii="refuse"))
    parsed = [encounter_from_dict(professional(subscriber=subscriber(last_name="MÜLLER")), file="t.json")]
    claims, problems = build_claims(parsed, refusing, today=TODAY)
    assert claims == []
    assert [(p.code, p.where.element) for p in errors(problems)] == [("encounter.text.not_ascii",
                                                                      "subscriber.last_name")]


def test_non_ascii_in_edi_toml_billing_is_a_choice_of_two():
    from mappings.config import ConfigError, parse_config

    text = (SAMPLES / "edi.toml").read_text(encoding="utf-8")
    assert 'non_ascii = "transliterate"' in text
    assert parse_config(text.replace('non_ascii = "transliterate"', 'non_ascii = "refuse"')).billing.non_ascii \
        == "refuse"
    with pytest.raises(ConfigError, match="billing.non_ascii"):
        parse_config(text.replace('non_ascii = "transliterate"', 'non_ascii = "guess"'))


@pytest.mark.parametrize(("where", "value", "element"), [
    ("last_name", "ANNA\u202eLAHTNE", "subscriber.last_name"),  # right-to-left override
    ("line1", "1 MAIN\u200b ST", "subscriber.address.line1"),  # zero-width space
    ("member_id", "SYN\u2060M001", "subscriber.member_id"),  # word joiner
    ("first_name", "AL\u00adEX", "subscriber.first_name"),  # soft hyphen
])
def test_invisible_format_characters_are_refused_naming_the_field(where, value, element):
    claims, problems = build([professional(subscriber=subscriber(**{where: value}))])
    assert claims == []
    found = [p for p in errors(problems) if p.code == "encounter.text.invisible"]
    assert [p.where.element for p in found] == [element]
    assert value not in found[0].message and "U+" in found[0].message


def test_text_with_no_ascii_spelling_and_ids_outside_ascii_are_refused():
    claims, problems = build([professional(subscriber=subscriber(last_name="山田", member_id="SYNM\u0661\u0662"))])
    assert claims == []
    assert sorted((p.code, p.where.element) for p in errors(problems)) == [
        ("encounter.text.not_ascii", "subscriber.last_name"), ("encounter.text.not_ascii", "subscriber.member_id")]


def test_plain_ascii_encounters_get_no_text_problem():
    claims, problems = build([professional()])
    assert len(claims) == 1 and not [c for c in codes(problems) if c.startswith("encounter.text")]


def test_claims_build_json_reports_an_id_holding_a_lone_surrogate(tmp_path):
    """The id arrives JSON-escaped ("\\ud800"), which json.loads reads as a lone surrogate: no output can encode
    it. The build reports it (escaped) and writes valid JSON, exit 1, under a strict UTF-8 locale too."""
    good = professional("T-GOOD-1")
    bad = json.dumps([good, professional("T-BAD-1")]).replace('"T-BAD-1"', '"T\\ud800BAD"')
    source = tmp_path / "encounters.json"
    source.write_text(bad, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k != "LANG"}
    env.update(LC_ALL="C.UTF-8", PYTHONIOENCODING="utf-8:strict", PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "cli.main", "claims", "build", str(source), "--json",
                          "--config", str(SAMPLES / "edi.toml"), "--out", str(tmp_path / "out"),
                          "--db", f"sqlite:///{tmp_path / 'edi.db'}"], capture_output=True, env=env, cwd=tmp_path,
                         timeout=120)
    assert b"Traceback" not in run.stderr and b"internal error" not in run.stderr, run.stderr
    assert run.returncode == 1, run.stderr
    doc = json.loads(run.stdout)
    text = json.dumps(doc)
    assert "encounter.delimiter" in text and "T\\\\ud800BAD" in text
    built = list((tmp_path / "out").glob("*.837"))
    assert len(built) == 1 and built[0].read_bytes().isascii()
