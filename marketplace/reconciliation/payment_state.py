"""The payment state of one settlement: what its consumer has paid, what was paid out to its provider, and each
amount's source (a bank line's allocation or a share of a netting offset), as the accountants of both parties see
it. The amounts recorded on ``settlement_payments`` are the sums of these sources; the reconciliation report checks
that they stay so."""

from __future__ import annotations

from marketplace.auth import Principal
from marketplace.db import as_uuid
from marketplace.reconciliation import schemas
from marketplace.reconciliation.services import money, payment_status
from marketplace.reconciliation.tables import BankAllocation, NettingRun, NettingShare, SettlementPayment
from marketplace.settlement import services as settlement_services
from marketplace.settlement.tables import Settlement


async def of_settlement(number: str, viewer: Principal) -> schemas.SettlementPayments:
    """The payment state of settlement ``number``; another member's settlement is not found (404), as ever."""
    settlement = await settlement_services.get_settlement(number, viewer)
    row = (
        await Settlement.select(Settlement.id, Settlement.gross_cents, Settlement.fee_cents)
        .where(Settlement.number == number)
        .first()
    )
    assert row is not None  # get_settlement found it
    due, payout_due = int(row["gross_cents"]), int(row["gross_cents"]) - int(row["fee_cents"])
    record = await SettlementPayment.select().where(SettlementPayment.settlement == row["id"]).first()
    paid = 0 if record is None else int(record["paid_cents"])
    paid_out = 0 if record is None else int(record["paid_out_cents"])
    # The states recorded are the ones matching and netting act on; without a record nothing was paid yet.
    state = payment_status(paid, due) if record is None else record["payment_status"]
    payout_state = payment_status(paid_out, payout_due) if record is None else record["payout_status"]
    allocations = await BankAllocation.select(
        BankAllocation.side,
        BankAllocation.amount_cents,
        BankAllocation.ledger_entry,
        BankAllocation.line.booking_date,
        BankAllocation.line.bank_reference,
    ).where(BankAllocation.settlement == row["id"])
    shares = await NettingShare.select(
        NettingShare.side,
        NettingShare.amount_cents,
        NettingShare.netting_offset.ledger_entry,
        NettingShare.netting_offset.run,
    ).where(NettingShare.settlement == row["id"])
    runs = {share["netting_offset.run"] for share in shares}
    as_of = (
        {
            str(run["id"]): run["as_of"]
            for run in (await NettingRun.select(NettingRun.id, NettingRun.as_of).where(NettingRun.id.is_in(list(runs))))
        }
        if runs
        else {}
    )
    payments = [
        schemas.PaymentOfSide(
            side=allocation["side"],
            amount=money(int(allocation["amount_cents"])),
            source="bank_line",
            day=allocation["line.booking_date"],
            reference=str(allocation["line.bank_reference"]),
            ledger_entry_id=as_uuid(allocation["ledger_entry"]),
        )
        for allocation in allocations
    ] + [
        schemas.PaymentOfSide(
            side=share["side"],
            amount=money(int(share["amount_cents"])),
            source="netting",
            day=as_of[str(share["netting_offset.run"])],
            reference=str(share["netting_offset.run"]),
            ledger_entry_id=as_uuid(share["netting_offset.ledger_entry"]),
        )
        for share in shares
    ]
    payments.sort(key=lambda payment: (payment.day, payment.side, payment.source, payment.reference))
    return schemas.SettlementPayments(
        settlement=number,
        consumer=settlement.consumer,
        provider=settlement.provider,
        due=money(due),
        paid=money(paid),
        payment_status=state,
        payout_due=money(payout_due),
        paid_out=money(paid_out),
        payout_status=payout_state,
        payments=payments,
    )
