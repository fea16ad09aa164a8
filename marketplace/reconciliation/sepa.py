"""The SEPA credit-transfer file (pain.001.001.09) of a netting run's payouts, made with ``sepaxml``.

The debtor is the clearing account: the cooperative member's IBAN, BIC and account holder. Each payout with
valid bank details becomes one transfer to the payee's IBAN (and BIC, when one is on file), EndToEndId the first
settlement number it pays, the remittance information all of them. Payouts whose payee has no valid bank
details are left out (the run lists them as errors). sepaxml checks the file against the pain.001.001.09 schema
it ships before it is returned.

Names go into the file in the SEPA character set, at most 70 characters (``text.sepa_text``): umlauts spelled
out, anything else replaced. The account holder is checked against that set when it is saved, but a name
stored before (or a member's name, used when no holder is on file) must not make the cooperative's file fail
for every payee.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sepaxml import SepaTransfer

from marketplace.clock import today
from marketplace.errors import Conflict
from marketplace.members.identifiers import bic_error, iban_error, normalise_iban
from marketplace.members.tables import Member
from marketplace.reconciliation.netting import bank_details_error, payouts_of
from marketplace.text import sepa_text

SCHEMA = "pain.001.001.09"
MEDIA_TYPE = "application/xml"


def _name(row: dict[str, Any]) -> str:
    """The account holder (else the member's name, else its code) as a SEPA file may carry it."""
    for candidate in (row.get("account_holder"), row.get("name")):
        name = sepa_text(str(candidate or ""))
        if name:
            return name
    return str(row["code"])  # upper-case letters, digits and hyphens: always in the set


async def _clearing_account() -> dict[str, Any]:
    row = (
        await Member.select(Member.code, Member.name, Member.iban, Member.bic, Member.account_holder)
        .where(Member.kind == "cooperative")
        .first()
    )
    if row is None or not row["iban"] or iban_error(normalise_iban(str(row["iban"]))) is not None:
        raise Conflict("The cooperative's clearing account has no valid IBAN on file; no transfer file can be made.")
    if row["bic"] and bic_error(str(row["bic"]).strip().upper()) is not None:
        raise Conflict("The cooperative's clearing account has an invalid BIC on file.")
    return dict(row)


async def payments_xml(run_id: UUID, execution_date: date | None = None) -> bytes:
    """The pain.001 file of the run's payouts to payees with valid bank details."""
    _, payouts = await payouts_of(run_id)
    clearing = await _clearing_account()
    config: dict[str, Any] = {
        "name": _name(clearing),
        "IBAN": normalise_iban(str(clearing["iban"])),
        "batch": True,
        "currency": "EUR",
    }
    if clearing["bic"]:
        config["BIC"] = str(clearing["bic"]).strip().upper()
    transfer = SepaTransfer(config, schema=SCHEMA, clean=True)
    day = max(execution_date or today(), today())
    payable = [(row, member) for row, member in payouts if bank_details_error(member) is None]
    if not payable:
        raise Conflict(
            "This netting run has no payout to a payee with valid bank details; there is nothing to transfer."
        )
    for row, member in payable:
        payment: dict[str, Any] = {
            "name": _name(member),
            "IBAN": normalise_iban(str(member["iban"])),
            "amount": int(row["amount_cents"]),
            "execution_date": day,
            "description": str(row["remittance"]),
            "endtoend_id": str(row["end_to_end_id"]),
        }
        if member["bic"]:
            payment["BIC"] = str(member["bic"]).strip().upper()
        transfer.add_payment(payment)
    content: bytes = transfer.export(validate=True)
    return content


__all__ = ["MEDIA_TYPE", "SCHEMA", "payments_xml"]
