"""Helpers to write X12 inline in tests, the way beancount tests write ledgers in docstrings."""

from __future__ import annotations

import textwrap


def isa(control: int = 1, *, sender: str = "SENDER", receiver: str = "RECEIVER", element: str = "*",
        repetition: str = "^", component: str = ":", terminator: str = "~", version: str = "00501",
        usage: str = "T") -> str:
    """A fixed-width (106 character) ISA segment, terminator included."""
    fields = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ", receiver.ljust(15), "250101",
              "1200", repetition, version, f"{control:09d}", "0", usage, component]
    text = element.join(fields) + terminator
    assert len(text) - len(terminator) == 105, len(text)
    return text


def x12(text: str) -> bytes:
    """Dedented, stripped X12 text as bytes (segments keep the terminators written in the text)."""
    return textwrap.dedent(text).strip().encode()


def interchange(body: str, *, control: int = 1, functional_id: str = "HP", version: str = "005010X221A1",
                st01: str = "835", st03: str | None = None) -> bytes:
    """Wrap body segments (one per line, with ``~``) in a correct ISA/GS/ST...SE/GE/IEA envelope."""
    lines = [line.strip() for line in textwrap.dedent(body).strip().splitlines() if line.strip()]
    st = f"ST*{st01}*0001" + (f"*{st03}" if st03 else "") + "~"
    out = [isa(control), f"GS*{functional_id}*SENDER*RECEIVER*20250101*1200*1*X*{version}~", st, *lines,
           f"SE*{len(lines) + 2}*0001~", "GE*1*1~", f"IEA*1*{control:09d}~"]
    return "\n".join(out).encode() + b"\n"


#: ACME's 835 for ENC-C-0001 of samples/encounters/two-coverages.json (charge 247.50): line 1 CO-45 and PR-2
#: (coinsurance), line 2 CO-45 and PR-1
#: (deductible), line 3 denied (CO-50); 135.50 paid, 40.00 left to the patient.
COB_PRIMARY_835 = """BPR*I*{paid}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250820~
TRN*1*{trace}*1512345678~
N1*PR*ACME SYNTHETIC HEALTH PLAN*XV*SYNACME1~
N1*PE*SYNTH FAMILY CLINIC*XX*1234567893~
CLP*ENC-C-0001*{status}*247.5*{paid}*40*12*ICNA1*11*1~
NM1*QC*1*TESTPERSON*ALEX****MI*SYNM00001101~
SVC*HC:99214*180*120**1~
DTM*472*20250505~
CAS*CO*45*40~
CAS*PR*2*20~
REF*6R*C1-A~
SVC*HC:83036*45.5*15.5**1~
DTM*472*20250505~
CAS*CO*45*10~
CAS*PR*1*20~
REF*6R*C1-B~
SVC*HC:82947*22*0**1~
DTM*472*20250505~
CAS*CO*50*22~
REF*6R*C1-C~
"""


_PAYMENT = COB_PRIMARY_835.format(paid="135.5", trace="EFT{n}", status="1")


def payment_transaction(n: int, *, st01: str = "835", st03: str = "", se: bool = True, count: int | None = None) -> str:
    """Transaction set ``n`` of an 835 (one claim of COB_PRIMARY_835, trace EFT<n>), broken as asked: another
    ST01, an ST03 version, no SE, a wrong SE01."""
    body = [line for line in _PAYMENT.replace("EFT{n}", f"EFT{n}").splitlines() if line]
    st = f"ST*{st01}*{n:04d}" + (f"*{st03}" if st03 else "") + "~"
    end = [f"SE*{count if count is not None else len(body) + 2}*{n:04d}~"] if se else []
    return "\n".join([st, *body, *end])


def payment_group(transactions: list[str], *, count: int | None = None, version: str = "005010X221A1") -> str:
    """A functional group of these transaction sets (``count``: a wrong GE01)."""
    return "\n".join([f"GS*HP*SENDER*RECEIVER*20250101*1200*1*X*{version}~", *transactions,
                      f"GE*{count if count is not None else len(transactions)}*1~"])


def payment_file(tmp_path, *interchanges: str, name: str = "parts.835") -> str:
    """A file of one interchange per group given, written in ``tmp_path``; its path."""
    text = "\n".join(f"{isa(k + 1)}\n{body}\nIEA*1*{k + 1:09d}~" for k, body in enumerate(interchanges))
    path = tmp_path / name
    path.write_bytes(text.encode() + b"\n")
    return str(path)
