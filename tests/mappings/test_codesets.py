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
