"""The code tables of acknowledgements, in words: TA1, 999 (and 997) and 277CA.

Each table is a dict from the code as sent to its meaning; each lookup function returns a string for any code,
an unknown one included (``"unknown code 'Q9'"``), so a reader never fails on a code it does not know.
``known(table, code)`` says whether a code is in a table, for readers that report unknown codes.

The wording follows the project's X12 digest (section 5), which paraphrases public code lists; X12 holds the
copyright on the lists themselves. Claim status codes (X12 code source 508) are given words only for the few
the digest words; any other status code is "status code N" (and ``StatusCode.code_words`` is None).
"""

from __future__ import annotations

from collections.abc import Mapping

# -- TA1 --------------------------------------------------------------------------------------------------------

#: TA104, interchange acknowledgment code (I17).
TA1_STATUS: dict[str, str] = {
    "A": "accepted",
    "E": "accepted with errors",
    "R": "rejected",
}

#: TA105, interchange note code (I18), as the 5010 control map allows them (000-031).
TA1_NOTES: dict[str, str] = {
    "000": "no error",
    "001": "the interchange control numbers in the header and trailer do not match",
    "002": "the standard in ISA11 is not supported",
    "003": "this version of the controls is not supported",
    "004": "the segment terminator is invalid",
    "005": "invalid interchange ID qualifier for the sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for the receiver",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier value",
    "011": "invalid authorization information value",
    "012": "invalid security information qualifier value",
    "013": "invalid security information value",
    "014": "invalid interchange date value",
    "015": "invalid interchange time value",
    "016": "invalid interchange standards identifier value",
    "017": "invalid interchange version ID value",
    "018": "invalid interchange control number value",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end of file",
    "024": "invalid interchange content (for example an invalid GS segment)",
    "025": "duplicate interchange control number",
    "026": "invalid data element separator",
    "027": "invalid component element separator",
    "028": "invalid delivery date in deferred delivery request",
    "029": "invalid delivery time in deferred delivery request",
    "030": "invalid delivery time code in deferred delivery request",
    "031": "invalid grade of service code",
}

# -- 999 / 997 --------------------------------------------------------------------------------------------------

#: IK501 (AK501 in a 997), transaction set acknowledgment code (717).
SET_STATUS: dict[str, str] = {
    "A": "accepted",
    "E": "accepted, but errors were noted",
    "M": "rejected, message authentication code (MAC) failed",
    "R": "rejected",
    "W": "rejected, assurance failed validity tests",
    "X": "rejected, content after decryption could not be analyzed",
}

#: AK901, functional group acknowledgment code (715): the set codes plus P.
GROUP_STATUS: dict[str, str] = {
    **SET_STATUS,
    "P": "partially accepted, at least one transaction set was rejected",
}

#: IK304 (AK304 in a 997), segment syntax error code (620; 720 in a 997 has the numeric ones).
SEGMENT_ERRORS: dict[str, str] = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation \"not used\" segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent \"not used\" segment present",
}

#: IK403 (AK403 in a 997), element syntax error code (621; 723 in a 997 has the numeric ones).
ELEMENT_ERRORS: dict[str, str] = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation \"not used\" data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent \"not used\" data element present",
}

#: IK502..IK506 (AK502..AK506 in a 997), transaction set syntax error code (718).
SET_ERRORS: dict[str, str] = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    **{str(n): "security error" for n in range(8, 18)},
    "18": "transaction set not in functional group",
    "19": "invalid transaction set implementation convention reference",
    "23": "transaction set control number not unique within the functional group",
    **{str(n): "security segment error" for n in range(24, 28)},
    "I5": "implementation one or more segments in error",
    "I6": "implementation convention not supported",
}

#: AK905..AK909, functional group syntax error code (716).
GROUP_ERRORS: dict[str, str] = {
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer (GE) missing",
    "4": "group control number in the functional group header (GS06) and trailer (GE02) do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax",
    **{str(n): "security error" for n in range(10, 19)},
    "19": "functional group control number not unique within interchange",
}

# -- 277CA ------------------------------------------------------------------------------------------------------

#: STC01-1 (and STC10-1, STC11-1), claim status category code (507): those a 277CA uses.
CATEGORIES: dict[str, str] = {
    "A0": "acknowledgement/forwarded: the claim was forwarded to another entity",
    "A1": "acknowledgement/receipt: received, which does not mean accepted for adjudication",
    "A2": "acknowledgement/acceptance into the adjudication system",
    "A3": "acknowledgement/returned as unprocessable claim: rejected, not entered into adjudication",
    "A4": "acknowledgement/not found",
    "A5": "acknowledgement/split claim: split upon acceptance",
    "A6": "acknowledgement/rejected for missing information (see the status code)",
    "A7": "acknowledgement/rejected for invalid information (see the status code)",
    "A8": "acknowledgement/rejected for relational field in error",
    **{f"E{n}": "response not possible or system status (real-time acknowledgements only)" for n in range(5)},
}

#: Families of category codes used by 277 claim-status responses (X212), not by a 277CA: the first letters.
CATEGORY_FAMILIES: dict[str, str] = {
    "P": "pending (a claim-status category, not a 277CA acknowledgement)",
    "F": "finalized (a claim-status category, not a 277CA acknowledgement)",
    "R": "request for more information (a claim-status category, not a 277CA acknowledgement)",
    "D": "data reporting (a claim-status category, not a 277CA acknowledgement)",
}

#: STC01-2 (and STC10-2, STC11-2), claim status code (508): only the few the digest gives words for.
CLAIM_STATUS: dict[str, str] = {
    "19": "entity acknowledges receipt of claim/encounter",
    "20": "accepted for processing",
    "21": "missing or invalid information",
}


# -- lookups ----------------------------------------------------------------------------------------------------


def known(table: Mapping[str, str], code: str | None) -> bool:
    """Whether ``code`` is in ``table``."""
    return code is not None and code in table


def _words(table: Mapping[str, str], code: str | None, empty: str) -> str:
    if not code:
        return empty
    return table.get(code) or f"unknown code {code!r}"


def ta1_status(code: str | None) -> str:
    """TA104 in words."""
    return _words(TA1_STATUS, code, "no acknowledgment code")


def ta1_note(code: str | None) -> str:
    """TA105 in words."""
    return _words(TA1_NOTES, code, "no note code")


def set_status(code: str | None) -> str:
    """IK501 / AK501 in words."""
    return _words(SET_STATUS, code, "no acknowledgment code")


def group_status(code: str | None) -> str:
    """AK901 in words."""
    return _words(GROUP_STATUS, code, "no acknowledgment code")


def segment_error(code: str | None) -> str:
    """IK304 / AK304 in words."""
    return _words(SEGMENT_ERRORS, code, "no segment error code")


def element_error(code: str | None) -> str:
    """IK403 / AK403 in words."""
    return _words(ELEMENT_ERRORS, code, "no element error code")


def set_error(code: str | None) -> str:
    """IK502..IK506 in words."""
    return _words(SET_ERRORS, code, "no transaction set error code")


def group_error(code: str | None) -> str:
    """AK905..AK909 in words."""
    return _words(GROUP_ERRORS, code, "no group error code")


def category_family(code: str | None) -> str | None:
    """The claim-status family (P, F, R, D) of a category code that is not a 277CA one, or None."""
    if code and code not in CATEGORIES and code[0] in CATEGORY_FAMILIES and (code[1:].isdigit() or code == "RQ"):
        return code[0]
    return None


def category(code: str | None) -> str:
    """A claim status category (STC01-1) in words; a claim-status family for P/F/R/D codes."""
    if not code:
        return "no category code"
    if code in CATEGORIES:
        return CATEGORIES[code]
    family = category_family(code)
    if family is not None:
        return CATEGORY_FAMILIES[family]
    return f"unknown code {code!r}"


def claim_status(code: str | None) -> str:
    """A claim status code (STC01-2) in words when edi knows it, else ``"status code N"``."""
    if not code:
        return "no status code"
    return CLAIM_STATUS.get(code) or f"status code {code}"


def claim_status_words(code: str | None) -> str | None:
    """A claim status code in words when edi knows it, else None (``StatusCode.code_words``)."""
    return CLAIM_STATUS.get(code) if code else None
