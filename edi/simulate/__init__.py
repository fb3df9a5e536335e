"""A simulated payer and clearinghouse, for demos, tests and benchmarks: 837 claims in; 999, 277CA and 835 out.

- :mod:`edi.simulate.policy`: the payer's edits, pricing and seeded decisions, claim by claim;
- :mod:`edi.simulate.x12out`: the 835 and 277CA it writes;
- :mod:`edi.simulate.payer`: one 837 file answered (:func:`answer_837`);
- :mod:`edi.simulate.clearinghouse`: a directory clearinghouse's outbox answered into its inbox.

Never used by production code paths: it exists so the whole claim loop runs on a laptop.
"""

from edi.simulate.clearinghouse import Mailbox, MailboxResult, answer_mailbox
from edi.simulate.payer import Answered, SimulationError, answer_837
from edi.simulate.policy import Policy

__all__ = ["Answered", "Mailbox", "MailboxResult", "Policy", "SimulationError", "answer_837", "answer_mailbox"]
