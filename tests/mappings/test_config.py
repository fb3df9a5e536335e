"""edi.toml: the sample and the starter load; every mistake is a ConfigError naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from mapping_helpers import SAMPLES

from edi.model import Payer, Submitter
from mappings.config import ConfigError, load_config, parse_config, starter_toml

GOOD = '''
[submitter]
name = "SYNTH BILLING"
id = "SYNBILL01"
contact_name = "BILLING DESK"
phone = "555-555-0100"

[clearinghouses.hub]
name = "SYNTH HUB"
isa_qualifier = "ZZ"
isa_id = "SYNTHHUB"
gs_id = "SYNTHHUB"
usage = "T"

[payers.acme]
name = "ACME SYNTHETIC HEALTH PLAN"
payer_id = "SYNACME1"
clearinghouse = "hub"
filing_indicator = "CI"
'''


def errors_of(text: str, file: str = "edi.toml") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, file=file)
    return info.value


def test_sample_configuration_loads() -> None:
    cfg = load_config(SAMPLES / "edi.toml")
    assert set(cfg.payers) == {"acme", "blueplan", "medicare_b", "medicare_a", "medicaid"}
    assert set(cfg.clearinghouses) == {"synthhub", "testbridge"}
    assert cfg.payers["medicare_b"].payer() == Payer(name="SYNTHETIC MEDICARE PART B", payer_id="SYNMCRB1",
                                                     filing_indicator="MB")
    assert cfg.payers["medicare_a"].address is not None and cfg.payers["medicare_a"].address.zip == "627010002"
    assert cfg.clearinghouse_for("medicaid").name == "TEST BRIDGE EDI"
    assert cfg.submitter_for("medicaid") == Submitter(
        name="SYNTHETIC BILLING SERVICE", id="SYNBILL01", contact_name="BILLING DESK", phone="5555550100",
        email="billing@example.org", receiver_name="TEST BRIDGE EDI", receiver_id="TESTBRIDGE01")
    assert cfg.submitter.isa_id == "SYNBILL01" and cfg.submitter.gs_id == "SYNBILL01"
    assert cfg.file == str(SAMPLES / "edi.toml")


def test_starter_toml_loads_and_is_commented() -> None:
    text = starter_toml()
    cfg = parse_config(text)
    assert list(cfg.payers) == ["example_plan"] and list(cfg.clearinghouses) == ["example_hub"]
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith("#")) >= 5


def test_defaults() -> None:
    cfg = parse_config(GOOD)
    assert cfg.submitter.phone == "5555550100"
    assert cfg.submitter.isa_qualifier == "ZZ"
    assert cfg.clearinghouses["hub"].receiver_id == "SYNTHHUB"
    assert cfg.payers["acme"].responsibility == "P"
    b = cfg.billing
    assert (b.provider_signature, b.assignment, b.benefits_assigned, b.release_of_information,
            b.line_control_numbers) == (True, "A", True, "Y", True)


def test_configuration_is_read_only() -> None:
    cfg = parse_config(GOOD)
    with pytest.raises(TypeError):
        cfg.payers["other"] = cfg.payers["acme"]  # type: ignore[index]


def test_a_clearinghouse_key_may_hold_spaces_and_letters_of_any_language() -> None:
    text = GOOD.replace("[clearinghouses.hub]", '[clearinghouses."synth hüb"]').replace(
        'clearinghouse = "hub"', 'clearinghouse = "synth hüb"')
    assert list(parse_config(text).clearinghouses) == ["synth hüb"]


def test_unknown_clearinghouse_names_key_and_file() -> None:
    err = errors_of(GOOD.replace('clearinghouse = "hub"', 'clearinghouse = "x"'))
    assert str(err) == 'edi.toml: payers.acme.clearinghouse names "x", which is not in [clearinghouses]'
    assert err.key == "payers.acme.clearinghouse" and err.file == "edi.toml"


@pytest.mark.parametrize(("old", "new", "key", "text"), [
    ('name = "SYNTH BILLING"\n', "", "submitter.name", "submitter.name is missing"),
    ('payer_id = "SYNACME1"\n', "", "payers.acme.payer_id", "payers.acme.payer_id is missing"),
    ('usage = "T"', 'usage = "X"', "clearinghouses.hub.usage", 'clearinghouses.hub.usage is "X"; expected one of: '
     "P, T"),
    ('filing_indicator = "CI"', 'filing_indicator = "XX"', "payers.acme.filing_indicator",
     'payers.acme.filing_indicator is "XX"'),
    ('isa_qualifier = "ZZ"', 'isa_qualifier = "99"', "clearinghouses.hub.isa_qualifier",
     "clearinghouses.hub.isa_qualifier"),
    ('isa_id = "SYNTHHUB"', 'isa_id = "SYNTHHUB-TOO-LONG-ID"', "clearinghouses.hub.isa_id",
     "must have 1 to 15 characters"),
    ('phone = "555-555-0100"', "phone = 5555550100", "submitter.phone", "submitter.phone must be a string"),
    ('phone = "555-555-0100"', 'phone = "555-0100"', "submitter.phone", "10-digit"),
    ('name = "ACME SYNTHETIC HEALTH PLAN"', 'name = "ACME*PLAN"', "payers.acme.name",
     "payers.acme.name contains '*', which X12 uses as a delimiter"),
    ('filing_indicator = "CI"', 'filing_indicator = "CI"\nfilling_indicator = "CI"',
     "payers.acme.filling_indicator", "payers.acme.filling_indicator is not a known key"),
    ('id = "SYNBILL01"', 'id = "SYNTHETICBILLINGSUBMITTER"', "submitter.isa_id", "longer than the 15 characters"),
    # what the writer cannot write, refused where it is configured (it crashed or half-wrote the build)
    ('name = "SYNTH HUB"', 'name = "SYNTH\\u0085HUB"', "clearinghouses.hub.name", "a control character"),
    ('name = "SYNTH HUB"', 'name = "SYNTH\\u2028HUB"', "clearinghouses.hub.name", "a line separator"),
    ('name = "SYNTH HUB"', 'name = "SYNTH\\tHUB"', "clearinghouses.hub.name", "a control character"),
    ('gs_id = "SYNTHHUB"', 'gs_id = "SYNTH\\u0085HUB"', "clearinghouses.hub.gs_id", "a control character"),
    ('isa_id = "SYNTHHUB"', 'isa_id = "SYNTHHÜB"', "clearinghouses.hub.isa_id", "must be plain ASCII"),
    ('id = "SYNBILL01"', 'id = "SYNBILLÉ1"', "submitter.id", "must be plain ASCII"),
    # the key names the 837 files
    ("[clearinghouses.hub]", '[clearinghouses."sub/hub"]', "clearinghouses.sub/hub", "no '/'"),
    ("[clearinghouses.hub]", '[clearinghouses."../up"]', "clearinghouses.../up", "leading '.'"),
    ("[clearinghouses.hub]", '[clearinghouses."-rf"]', "clearinghouses.-rf", "leading '.' or '-'"),
    ("[clearinghouses.hub]", '[clearinghouses."' + "漢" * 40 + '"]', "clearinghouses." + "漢" * 40,
     "at most 100 bytes"),
])
def test_a_wrong_key_is_named(old: str, new: str, key: str, text: str) -> None:
    assert old in GOOD
    err = errors_of(GOOD.replace(old, new, 1))
    assert key in [k for k, _ in err.errors]
    assert text in str(err)
    assert all(line.startswith("edi.toml: ") for line in str(err).splitlines())


def test_missing_tables() -> None:
    err = errors_of('[submitter]\nname = "A"\nid = "AB"\ncontact_name = "C"\nphone = "5555550100"\n')
    assert [k for k, _ in err.errors] == ["clearinghouses", "payers"]
    err = errors_of(GOOD + "\n[payers.broken]\n")
    assert "payers.broken.name is missing" in str(err)
    err = errors_of(GOOD.replace("[clearinghouses.hub]", "[other]"))
    assert {"other", "clearinghouses"} <= {k for k, _ in err.errors}


def test_every_problem_is_listed() -> None:
    err = errors_of(GOOD.replace('usage = "T"', 'usage = "Q"').replace('filing_indicator = "CI"', ""))
    assert [k for k, _ in err.errors] == ["clearinghouses.hub.usage", "payers.acme.filing_indicator"]
    assert len(str(err).splitlines()) == 2


def test_billing_section() -> None:
    cfg = parse_config(GOOD + '\n[billing]\nassignment = "C"\nline_control_numbers = false\n')
    assert cfg.billing.assignment == "C" and cfg.billing.line_control_numbers is False
    err = errors_of(GOOD + '\n[billing]\nprovider_signature = "yes"\n')
    assert str(err) == "edi.toml: billing.provider_signature must be true or false"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    err = errors_of("[submitter\n", file="bad.toml")
    assert str(err).startswith("bad.toml: is not valid TOML")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.toml")
    assert str(info.value) == f"{tmp_path / 'absent.toml'}: no such file"
    bad = tmp_path / "edi.toml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(bad)
