"""The ledger's tables (SQLAlchemy Core). Alembic migrations in ``edi/ledger/migrations`` create them; this
module is what the code queries, and a test checks that the migrations produce exactly these tables.

Money is stored as integer cents (``Money``), exact on every database, SQLite included (whose NUMERIC is a
float). Postings are append-only: an amount is never updated; a reversal is a new entry negating an old one.

Double entry: every journal entry's postings sum to zero. Debits are positive, credits negative.

| event | debit (+) | credit (-) |
| --- | --- | --- |
| claim recorded, charge C | insurance_ar C | gross_charges C |
| claim payment P | undeposited_era P | insurance_ar P |
| CO / PI / OA adjustment A | contractual / payer_initiated / other_adjustments A | insurance_ar A |
| PR adjustment A | patient_ar A | insurance_ar A |
| write-off W | write_offs W | insurance_ar W |
| PLB amount X (positive reduces the payment) | provider_adjustments X | undeposited_era X |
| payment for an unknown claim P | undeposited_era P | suspense P |
| 835 whose BPR02 differs from its detail by D | undeposited_era D | suspense D |
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

from edi.model import CLAIM_STATUSES  # noqa: F401  (re-exported: the ledger's claim statuses)

CENTS = Decimal(100)


def cents(value: Decimal) -> int:
    """A Decimal amount as integer cents, as the ``Money`` columns store it. Refuses fractions of a cent."""
    if value.__class__ is not Decimal:
        if isinstance(value, float):
            raise TypeError("money must be Decimal, never float")
        value = Decimal(value)
    c = value * CENTS
    i = int(c)
    if i != c:
        raise ValueError(f"{value} has fractions of a cent")
    return i


class Money(TypeDecorator):
    """A Decimal amount stored as integer cents. Refuses an amount with fractions of a cent."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else cents(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / CENTS).quantize(Decimal("0.01"))


metadata = MetaData()

#: The accounts of the chart. Postings name one of them.
ACCOUNTS = ("insurance_ar", "gross_charges", "undeposited_era", "contractual", "payer_initiated",
            "other_adjustments", "patient_ar", "write_offs", "provider_adjustments", "suspense", "bank")

#: Adjustment group code -> the account its amount moves to.
GROUP_ACCOUNT = {"CO": "contractual", "PI": "payer_initiated", "OA": "other_adjustments", "PR": "patient_ar",
                 "CR": "other_adjustments"}

#: The statuses of a claim that no longer stands: its charge moved to its replacement, or was taken back. Such a
#: claim is not billed again, answers to its patient control number no more (only to its payer claim number),
#: and keeps its status whatever an 835 says of it (a payment that still reaches it is posted to it).
WITHDRAWN_STATUSES = ("replaced", "voided")
#: The same, for raw SQL: ``status NOT IN (...)``.
WITHDRAWN_SQL = ", ".join(f"'{s}'" for s in WITHDRAWN_STATUSES)
#: The statuses a claim can no longer be billed under: withdrawn, or rejected by an acknowledgement (a rejected
#: claim still answers to its number: a payer may adjudicate it after all; its corrected resubmission, once
#: recorded, stands instead and takes the rejected claim's charge off the balance).
NOT_STANDING_STATUSES = (*WITHDRAWN_STATUSES, "rejected")
#: Where a claim that is not a correction (frequency 7 or 8) stands: the partial unique index ``claims_standing``
#: (a copy billed twice before migration 0006 is marked ``duplicate_of`` and left out; `edi ledger check` names it).
STANDING_SQL = ("frequency NOT IN ('7', '8') AND status NOT IN ('replaced', 'voided', 'rejected') "
                "AND duplicate_of IS NULL")

files = Table(
    "files", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("kind", String(8), nullable=False),  # 837, 835, 999, 277
    Column("name", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("interchanges", Text),  # ISA13 values, space-separated
    Column("imported_at", DateTime, nullable=False),
    Column("path", Text),  # where the file was when recorded (absolute): `claims submit --all-built` finds it there
)

transactions = Table(
    "transactions", metadata,
    Column("id", Integer, primary_key=True),
    Column("file_id", Integer, ForeignKey("files.id"), nullable=False),
    Column("st01", String(3), nullable=False),
    Column("interchange", String(9)),  # ISA13
    Column("group_control", String(9)),  # GS06
    Column("control_number", String(9)),  # ST02
    Column("batch_id", Text),  # BHT03
    Column("version", String(20)),
    Column("claims", Integer, nullable=False, server_default="0"),
    Column("receiver", String(80)),  # 1000B NM109 of an 837 (tells two clearinghouses' 999s apart)
    Index("transactions_control", "group_control", "control_number"),
    Index("transactions_interchange", "interchange"),
)

claims = Table(
    "claims", metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_control_number", String(38), nullable=False),
    Column("kind", String(13), nullable=False),  # professional, institutional
    Column("payer_id", String(80)),
    Column("payer_name", Text),
    Column("frequency", String(1), nullable=False, server_default="1"),
    Column("charge", Money, nullable=False),
    Column("service_date", Date),
    Column("billing_npi", String(10)),
    Column("member_id", String(80)),
    Column("payer_claim_number", String(50)),  # REF*F8 sent, or the last CLP07 received
    Column("status", String(10), nullable=False),
    Column("file_id", Integer, ForeignKey("files.id")),
    Column("transaction_id", Integer, ForeignKey("transactions.id")),
    Column("segment", Integer),
    Column("replaces_id", Integer, ForeignKey("claims.id")),
    Column("created_at", DateTime, nullable=False),
    Column("fingerprint", String(64)),  # sha256 of the 837 text edi built the claim as (None: recorded from a file)
    Column("status_reason", Text),  # why the claim has its status, in words (a rejection's codes and meaning)
    Column("duplicate_of", Integer),  # a copy billed twice before migration 0006: the claim it copies (see there)
    CheckConstraint("status IN ('built','submitted','accepted','rejected','paid','denied','reversed','voided',"
                    "'replaced')", name="claims_status"),
    Index("claims_pcn", "patient_control_number"),
    Index("claims_payer_claim_number", "payer_claim_number"),
    UniqueConstraint("file_id", "segment", name="claims_file_segment"),
)
# one claim, one bill: a claim that is not a correction stands once per patient control number and payer until it
# is replaced, voided or rejected (migration 0006); `edi ledger check` proves the rest (any frequency)
Index("claims_standing", claims.c.patient_control_number, func.coalesce(claims.c.payer_id, ""), unique=True,
      sqlite_where=text(STANDING_SQL), postgresql_where=text(STANDING_SQL))

#: The first 20 characters of a claim's patient control number, the most some payers return in CLP01 (migration
#: 0009 indexes this very expression: the literals are part of it, so it is written out rather than bound).
PCN_PREFIX = func.substr(claims.c.patient_control_number, literal_column("1"), literal_column("20"))
Index("claims_pcn_prefix", PCN_PREFIX)

claim_lines = Table(
    "claim_lines", metadata,
    Column("id", Integer, primary_key=True),
    Column("claim_id", Integer, ForeignKey("claims.id"), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("procedure", String(48)),
    Column("modifiers", String(16)),  # colon-separated
    Column("revenue_code", String(4)),
    Column("charge", Money, nullable=False),
    Column("units", String(16)),
    Column("service_date", Date),
    Column("line_control_number", String(50)),
    Index("claim_lines_claim", "claim_id"),
)

remittances = Table(
    "remittances", metadata,
    Column("id", Integer, primary_key=True),
    Column("file_id", Integer, ForeignKey("files.id"), nullable=False),
    Column("payer_key", String(80), nullable=False),  # TRN03, else the payer's id, else its name
    Column("payer_name", Text),
    Column("trace_number", String(80), nullable=False),  # TRN02
    Column("amount", Money, nullable=False),  # BPR02, signed by BPR03 (a debit is negative)
    Column("handling", String(2)),
    Column("method", String(3)),
    Column("payment_date", Date),
    Column("control_number", String(9)),  # ST02
    Column("segment", Integer),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("payer_key", "trace_number", name="remittances_payment"),
)

journal_entries = Table(
    "journal_entries", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # charge, payment, reversal, denial, writeoff, plb, suspense, ...
    Column("claim_id", Integer),  # -> claims.id (checked by `edi ledger check`, see CHECKED_REFERENCES)
    Column("remittance_id", Integer),  # -> remittances.id (checked)
    Column("claim_payment_id", Integer),  # -> claim_payments.id (checked)
    Column("file_id", Integer),  # -> files.id (checked)
    Column("reverses_id", Integer, ForeignKey("journal_entries.id")),
    Column("memo", Text),
    Column("created_at", DateTime, nullable=False),
    Index("journal_entries_claim", "claim_id"),
    Index("journal_entries_claim_payment", "claim_payment_id"),
    # the entries that bill a claim to the next payer, by claim (migration 0012: edi ledger claims looks for them)
    Index("journal_entries_prior_payer", "claim_id", sqlite_where=text("kind = 'prior_payer'"),
          postgresql_where=text("kind = 'prior_payer'")),
)

postings = Table(
    "postings", metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", Integer, nullable=False),  # -> journal_entries.id (checked)
    Column("account", String(24), nullable=False),
    Column("amount", Money, nullable=False),
    Column("claim_id", Integer),  # -> claims.id (checked)
    Column("line_id", Integer),  # -> claim_lines.id (checked)
    Column("group_code", String(2)),
    Column("reason", String(8)),
    CheckConstraint("account IN ('insurance_ar','gross_charges','undeposited_era','contractual','payer_initiated',"
                    "'other_adjustments','patient_ar','write_offs','provider_adjustments','suspense','bank')",
                    name="postings_account"),
    Index("postings_entry", "entry_id"),
    Index("postings_claim", "claim_id", "account"),
    Index("postings_account_entry", "account", "entry_id"),  # a payment's cash postings (reconcile), migration 0009
)

claim_payments = Table(
    "claim_payments", metadata,
    Column("id", Integer, primary_key=True),
    Column("remittance_id", Integer, ForeignKey("remittances.id"), nullable=False),
    Column("claim_id", Integer),  # -> claims.id (checked); NULL: in suspense
    Column("patient_control_number", String(38), nullable=False),
    Column("status", String(2), nullable=False),  # CLP02
    Column("charge", Money, nullable=False),
    Column("paid", Money, nullable=False),
    Column("patient_responsibility", Money),
    Column("payer_claim_number", String(50)),
    Column("denied", Money),  # CLP02 = 4: the adjustments recorded, not posted
    Column("reverses_id", Integer, ForeignKey("claim_payments.id")),
    Column("segment", Integer),
    # what a claim to the next payer repeats of this adjudication (migration 0011; NULL in the four: posted before
    # it, when the ledger kept none of it): the number of SVC loops (0: adjudicated at claim level only), the MOA
    # and MIA elements as the 835 sent them (a JSON array of strings), and the crossover carrier's name (NM1*TT)
    Column("services", Integer),
    Column("outpatient", Text),
    Column("inpatient", Text),
    Column("crossover_carrier", Text),
    Index("claim_payments_claim", "claim_id"),
    Index("claim_payments_icn", "payer_claim_number"),
    Index("claim_payments_reverses", "reverses_id"),
    Index("claim_payments_remittance", "remittance_id"),  # migration 0009
)

adjustments = Table(
    "adjustments", metadata,
    Column("id", Integer, primary_key=True),
    Column("claim_payment_id", Integer, nullable=False),  # -> claim_payments.id (checked)
    Column("claim_id", Integer),  # -> claims.id (checked)
    Column("line_id", Integer),  # -> claim_lines.id (checked)
    Column("level", String(5), nullable=False),  # claim, line
    Column("group_code", String(2), nullable=False),
    Column("reason", String(8), nullable=False),
    Column("amount", Money, nullable=False),
    Column("quantity", String(20)),  # an X12 R of 15 digits, sign and point: 17 (migration 0010)
    Column("remarks", Text),  # RARCs (line LQ*HE, claim MOA/MIA), space-separated
    Column("posted", Boolean, nullable=False),  # False for a denial's adjustments
    Column("line_denial", Boolean, nullable=False, server_default=false()),  # a line paid nothing in a paid claim
    Column("service_number", Integer),  # a line-level adjustment's SVC loop (service_payments; migration 0011)
    Index("adjustments_claim_payment", "claim_payment_id"),
)

#: Each SVC loop (2110) of a claim payment, as the payer adjudicated it (migration 0011): what a claim to the next
#: payer repeats in its 2430 SVD (paid amount, procedure as adjudicated, paid units) beside the line's CAS
#: (``adjustments`` rows with the same ``claim_payment_id`` and ``service_number``). ``line_id`` is the claim line
#: the poster matched it to (REF*6R, else procedure, modifiers, date and charge; the pieces of a line the payer split
#: share it); NULL: it matched none. Text columns: what the 835 sends is kept as sent, never refused for its length.
service_payments = Table(
    "service_payments", metadata,
    Column("id", Integer, primary_key=True),
    Column("claim_payment_id", Integer, nullable=False),  # -> claim_payments.id (checked)
    Column("service_number", Integer, nullable=False),  # 1-based, in the order of the CLP's SVC loops
    Column("line_id", Integer),  # -> claim_lines.id (checked)
    Column("procedure_qualifier", Text),  # SVC01-1: HC, NU (a revenue code), AD, ER, IV, N4, WK, ZZ...
    Column("procedure", Text),  # SVC01-2
    Column("modifiers", Text),  # SVC01-3..6, colon-separated
    Column("revenue_code", Text),  # SVC04
    Column("charge", Money),  # SVC02 (NULL: beyond what the ledger posts, see post.MAX_POSTED)
    Column("paid", Money),  # SVC03 (likewise)
    Column("units", Text),  # SVC05, the paid units as sent (NULL: absent, which the 835 guide reads as one)
    Index("service_payments_claim_payment", "claim_payment_id"),
)

provider_adjustments = Table(
    "provider_adjustments", metadata,
    Column("id", Integer, primary_key=True),
    Column("remittance_id", Integer, ForeignKey("remittances.id"), nullable=False),
    Column("provider_id", String(80)),
    Column("reason", String(4), nullable=False),
    Column("reference", Text),
    Column("amount", Money, nullable=False),
    Column("claim_id", Integer, ForeignKey("claims.id")),  # the claim the reference names, when found
    Column("segment", Integer),
)

suspense_items = Table(
    "suspense_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("remittance_id", Integer, ForeignKey("remittances.id"), nullable=False),
    Column("claim_payment_id", Integer, ForeignKey("claim_payments.id")),
    Column("kind", String(24), nullable=False),  # unmatched_claim, unbalanced_payment, unmatched_line
    Column("patient_control_number", String(38)),
    Column("amount", Money, nullable=False),
    Column("reason", Text, nullable=False),
    Column("segment", Integer),
)

#: References that are not foreign keys, for speed: the tables an 835 import writes by the hundred thousand
#: (journal entries, postings, adjustments; claim_payments.claim_id) carry no foreign key constraints
#: (migrations 0003, 0004); on PostgreSQL
#: every one of them cost a lookup and a row lock in the referenced table for each row written, more than the
#: rest of the import. The ledger is append-only and these ids are written only by edi, from rows it read or
#: wrote in the same transaction. `edi ledger check` (views.check) proves each of them: every non-null value
#: must name an existing row; an orphan is reported as ``ledger.reference.orphan``.
#: (table, column, referenced table)
CHECKED_REFERENCES = (
    ("journal_entries", "claim_id", "claims"),
    ("journal_entries", "remittance_id", "remittances"),
    ("journal_entries", "claim_payment_id", "claim_payments"),
    ("journal_entries", "file_id", "files"),
    ("postings", "entry_id", "journal_entries"),
    ("postings", "claim_id", "claims"),
    ("postings", "line_id", "claim_lines"),
    ("adjustments", "claim_payment_id", "claim_payments"),
    ("adjustments", "claim_id", "claims"),
    ("adjustments", "line_id", "claim_lines"),
    ("claim_payments", "claim_id", "claims"),  # migration 0004
    ("service_payments", "claim_payment_id", "claim_payments"),  # migration 0011
    ("service_payments", "line_id", "claim_lines"),
)

#: TA1, 999 and 277CA acknowledgements imported (edi.ledger.acks): one row per TA1, per 999 transaction set
#: (AK2/IK5) and group (AK1/AK9), per 277CA claim (2200D). ``transaction_id`` (an 837 transaction set recorded
#: here) or ``claim_id`` link it to what it acknowledges; both NULL: the ledger does not know what it answers.
acknowledgements = Table(
    "acknowledgements", metadata,
    Column("id", Integer, primary_key=True),
    Column("file_id", Integer, ForeignKey("files.id"), nullable=False),
    Column("kind", String(5), nullable=False),  # TA1, 999, 277CA
    Column("level", String(11), nullable=False),  # interchange, group, transaction, claim
    Column("interchange", String(9)),  # TA101: the ISA13 acknowledged
    Column("group_control", String(9)),  # AK102: the GS06 acknowledged
    Column("control_number", String(9)),  # AK202: the ST02 acknowledged
    Column("patient_control_number", String(38)),  # 277CA TRN02
    Column("transaction_id", Integer, ForeignKey("transactions.id")),
    Column("claim_id", Integer, ForeignKey("claims.id")),
    Column("status", String(2), nullable=False),  # TA104, IK501, AK901, or the 277CA's first STC category
    Column("outcome", String(8), nullable=False),  # accepted, rejected, other
    Column("codes", Text),  # the codes as sent: IK502.., AK905.., TA105, or STC composites
    Column("reason", Text),  # the codes in words
    Column("payer_claim_number", String(50)),  # 277CA REF*1K
    Column("amount", Money),  # 277CA STC04
    Column("effective_date", Date),  # 277CA STC02
    Column("source_name", Text),  # who acknowledges: 277CA 2100A NM103, or the ISA06 of a TA1 or 999
    Column("source_id", String(80)),
    Column("segment", Integer),
    Column("note", Text),  # why it is not linked, or what it did
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("kind IN ('TA1', '999', '277CA')", name="acknowledgements_kind"),
    CheckConstraint("outcome IN ('accepted', 'rejected', 'other')", name="acknowledgements_outcome"),
    Index("acknowledgements_claim", "claim_id"),
    Index("acknowledgements_transaction", "transaction_id"),
    Index("acknowledgements_file", "file_id"),
)

#: Each upload of a recorded 837 to a clearinghouse (``edi claims submit``).
submissions = Table(
    "submissions", metadata,
    Column("id", Integer, primary_key=True),
    Column("file_id", Integer, ForeignKey("files.id"), nullable=False),
    Column("clearinghouse", String(100), nullable=False),
    Column("remote_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("forced", Boolean, nullable=False, server_default=false()),  # --force: sent again on purpose
    Column("state", String(8), nullable=False, server_default="sent"),  # sending (not confirmed), sent
    Column("submitted_at", DateTime, nullable=False),
    CheckConstraint("state IN ('sending', 'sent')", name="submissions_state"),
    Index("submissions_file", "file_id"),
)
# a file is submitted once, unless forced: two processes cannot both send it (migration 0007)
Index("submissions_once", submissions.c.file_id, unique=True, sqlite_where=text("NOT forced"),
      postgresql_where=text("NOT forced"))

#: Each file seen in a clearinghouse's inbox (``edi inbox fetch``) and what became of it.
inbox_files = Table(
    "inbox_files", metadata,
    Column("id", Integer, primary_key=True),
    Column("clearinghouse", String(100), nullable=False),
    Column("remote_name", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime", BigInteger),  # seconds since the epoch, as the server said
    Column("sha256", String(64)),  # None: not downloaded (failed)
    Column("kind", String(8)),  # ack, 835, or None (not recognised)
    Column("outcome", String(8), nullable=False),  # imported, already, refused, unknown, failed
    Column("message", Text),
    Column("archive_path", Text),
    Column("file_id", Integer, ForeignKey("files.id")),  # the ledger's record of the content, when imported
    Column("removed", Boolean, nullable=False, server_default=false()),  # deleted or moved on the server
    Column("fetched_at", DateTime, nullable=False),
    CheckConstraint("outcome IN ('imported', 'already', 'refused', 'unknown', 'failed')", name="inbox_files_outcome"),
    Index("inbox_files_seen", "clearinghouse", "remote_name"),
)

control_numbers = Table(
    "control_numbers", metadata,
    Column("kind", String(16), primary_key=True),  # interchange, group, transaction
    Column("scope", String(80), primary_key=True),  # the receiver the numbers are unique for
    Column("last", BigInteger, nullable=False),
)

#: Bank deposits imported from the bank's CSV export (``edi ledger deposits import``, edi.ledger.deposits). A row
#: of the export is one deposit; ``occurrence`` numbers the identical rows (same date, amount and reference) of
#: one file, so that importing the same file again, or an export that overlaps it, adds nothing
#: (``deposits_line``), while two real deposits that look alike in one file are both kept.
deposits = Table(
    "deposits", metadata,
    Column("id", Integer, primary_key=True),
    Column("deposit_date", Date, nullable=False),
    Column("amount", Money, nullable=False),
    Column("reference", String(200), nullable=False, server_default=""),  # trace or reference, as the bank shows it
    Column("description", Text),  # the bank's description (often the payer's name)
    Column("occurrence", Integer, nullable=False, server_default="1"),
    Column("source", Text),  # the file's name
    Column("imported_at", DateTime, nullable=False),
    UniqueConstraint("deposit_date", "amount", "reference", "occurrence", name="deposits_line"),
)

#: Reassociation: which bank deposit an 835 payment reached, and the journal entry that moved its cash from
#: undeposited ERA cash to the bank. A deposit answers one payment, a payment one deposit (both unique).
deposit_matches = Table(
    "deposit_matches", metadata,
    Column("id", Integer, primary_key=True),
    Column("deposit_id", Integer, ForeignKey("deposits.id"), nullable=False),
    Column("remittance_id", Integer, ForeignKey("remittances.id"), nullable=False),
    Column("entry_id", Integer, ForeignKey("journal_entries.id"), nullable=False),
    Column("matched_by", String(8), nullable=False),  # trace (TRN02 in the reference) or amount (amount and date)
    Column("matched_at", DateTime, nullable=False),
    UniqueConstraint("deposit_id", name="deposit_matches_deposit"),
    UniqueConstraint("remittance_id", name="deposit_matches_remittance"),
)
