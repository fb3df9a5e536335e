"""Code sets: ICD-10-CM billable status read from the code list simple_icd_10_cm ships."""

from mappings import codesets
from mappings.codesets import icd10cm_status


def test_icd10cm_status_as_coders_write_codes():
    assert icd10cm_status("E11.9") == "billable"
    assert icd10cm_status("e119") == "billable"
    assert icd10cm_status("E11") == "header"  # a category with subcategories is not billable
    assert icd10cm_status("D49") == "header"  # listed twice (block and category): the category counts
    assert icd10cm_status("D49.0") == "billable"
    assert icd10cm_status("Z99.99") == "unknown"
    assert icd10cm_status("E1.19") == "malformed"
    assert icd10cm_status("11.9") == "malformed"


def test_the_fast_tables_agree_with_the_package_on_every_code():
    """Our reading of the flat code list must say exactly what simple_icd_10_cm's own tree says (which takes
    seconds to build): the same 98k codes, the same billable ones."""
    codes, billable = codesets._icd_tables()
    pkg_codes, pkg_billable = codesets._icd_tables_from_package()
    assert len(codes) > 90_000
    assert codes == pkg_codes
    assert billable == pkg_billable


def test_the_characters_refused_before_writing_are_the_ones_the_x12_writer_refuses() -> None:
    """Encounters and edi.toml are checked (mappings, which stays out of the X12 layer) for exactly what the
    837 writer would refuse with edi's delimiters, so a value is refused with its field, not half-way through a
    write."""
    from edi.x12.segment import DEFAULT_DELIMITERS
    from edi.x12.writer import forbidden_characters
    from mappings.codesets import UNWRITABLE_TEXT, X12_DELIMITERS

    refused = {chr(c) for c in range(0x10000) if UNWRITABLE_TEXT.match(chr(c))}
    assert refused == set(forbidden_characters(DEFAULT_DELIMITERS))
    assert set(DEFAULT_DELIMITERS.chars()) | {"\r", "\n"} == X12_DELIMITERS
