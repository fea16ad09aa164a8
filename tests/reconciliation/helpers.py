"""Builders for reconciliation tests: camt.053 and CSV statements generated here, and February 2025 settled.

After ``settled``: S-2025-000001 EKOM21 → HZD 59.50, S-2025-000002 KDZ-MZ → HZD 558.68 (tests/settlement/scenario).
HZD pays from ``HZD_IBAN``, KDZ-MZ is paid to ``KDZ_IBAN``; the clearing account is KOPIT's ``CLEARING_IBAN``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from xml.sax.saxutils import escape

import httpx
from litestar import Litestar

from ledger.tables import Account, RecordedAssertion
from ledger.tables import Entry as LedgerEntry
from marketplace.app import create_app
from marketplace.audit.tables import AuditEvent
from marketplace.members.tables import Member
from marketplace.reconciliation.tables import BankAllocation, BankLine, BankStatement, SettlementPayment
from tests.booking.helpers import published_offer
from tests.builders import bearer, settings, token
from tests.settlement.helpers import Exchange, agreement, run
from tests.settlement.scenario import PERIOD, february

CLEARING_IBAN = "DE02120300000000202051"
HZD_IBAN = "DE89370400440532013000"
KDZ_IBAN = "DE44500105175407324931"
STRANGER_IBAN = "DE17550501201234567890"
EKOM_SETTLEMENT = "S-2025-000001"  # EKOM21 → HZD, 59.50
KDZ_SETTLEMENT = "S-2025-000002"  # KDZ-MZ → HZD, 558.68
V02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
V08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


async def settled(client: httpx.AsyncClient) -> Exchange:
    """The exchange with February 2025 settled and the members' IBANs on file."""
    exchange = await Exchange.make()
    await Member.update({Member.iban: HZD_IBAN}).where(Member.code == "HZD")
    await Member.update({Member.iban: KDZ_IBAN}).where(Member.code == "KDZ-MZ")
    await february(client, exchange)
    await run(client, exchange, PERIOD)
    return exchange


@dataclass
class Entry:
    """One camt.053 entry: positive amounts are credits (received), negative debits (paid out)."""

    amount: str
    reference: str | None = None
    remittance: str | None = None
    end_to_end: str | None = None
    counterparty_iban: str | None = HZD_IBAN
    counterparty_name: str = "Hessische Zentrale für Datenverarbeitung"
    booked: str = "2025-03-10"
    currency: str = "EUR"


@dataclass
class Statement:
    """One camt.053 statement; the closing balance defaults to opening + entries."""

    entries: list[Entry] = field(default_factory=list)
    identifier: str = "STMT-2025-03-10"
    iban: str = CLEARING_IBAN
    opening: str = "1000.00"
    closing: str | None = None
    #: The day the statement covers: PRCD is the closing balance of the day before, CLBD that of this day.
    day: str = "2025-03-10"


def _cents(amount: str) -> int:
    whole, _, part = amount.lstrip("-").partition(".")
    value = int(whole) * 100 + int((part + "00")[:2])
    return -value if amount.startswith("-") else value


def _money(cents: int) -> str:
    return f"{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _balance(code: str, cents: int, day: str, version: str) -> str:
    indicator = "CRDT" if cents >= 0 else "DBIT"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="EUR">{_money(cents)}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>'
    )


def _entry(entry: Entry, version: str) -> str:
    credit = not entry.amount.startswith("-")
    party, account = ("Dbtr", "DbtrAcct") if credit else ("Cdtr", "CdtrAcct")
    name = escape(entry.counterparty_name)
    party_xml = (
        f"<{party}><Nm>{name}</Nm></{party}>" if version == V02 else f"<{party}><Pty><Nm>{name}</Nm></Pty></{party}>"
    )
    account_xml = (
        f"<{account}><Id><IBAN>{entry.counterparty_iban}</IBAN></Id></{account}>" if entry.counterparty_iban else ""
    )
    status = "<Sts>BOOK</Sts>" if version == V02 else "<Sts><Cd>BOOK</Cd></Sts>"
    reference = f"<AcctSvcrRef>{escape(entry.reference)}</AcctSvcrRef>" if entry.reference else ""
    remittance = f"<RmtInf><Ustrd>{escape(entry.remittance)}</Ustrd></RmtInf>" if entry.remittance else ""
    return (
        f'<Ntry><Amt Ccy="{entry.currency}">{entry.amount.lstrip("-")}</Amt>'
        f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>{status}"
        f"<BookgDt><Dt>{entry.booked}</Dt></BookgDt><ValDt><Dt>{entry.booked}</Dt></ValDt>{reference}"
        "<BkTxCd/><NtryDtls><TxDtls>"
        f"<Refs><EndToEndId>{escape(entry.end_to_end or 'NOTPROVIDED')}</EndToEndId></Refs>"
        f"<RltdPties>{party_xml}{account_xml}</RltdPties>{remittance}"
        "</TxDtls></NtryDtls></Ntry>"
    )


def camt053(*statements: Statement, version: str = V08) -> bytes:
    """A camt.053 document as a German bank delivers it (the parts this service reads)."""
    body = []
    for statement in statements:
        opening = _cents(statement.opening)
        total = sum(_cents(entry.amount) for entry in statement.entries)
        closing = _cents(statement.closing) if statement.closing is not None else opening + total
        body.append(
            f"<Stmt><Id>{statement.identifier}</Id><ElctrncSeqNb>1</ElctrncSeqNb>"
            "<CreDtTm>2025-03-11T06:00:00+01:00</CreDtTm>"
            f"<Acct><Id><IBAN>{statement.iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
            + _balance("PRCD", opening, (date.fromisoformat(statement.day) - timedelta(days=1)).isoformat(), version)
            + _balance("CLBD", closing, statement.day, version)
            + "".join(_entry(entry, version) for entry in statement.entries)
            + "</Stmt>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{version}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2025-03-11T06:00:00+01:00</CreDtTm></GrpHdr>"
        + "".join(body)
        + "</BkToCstmrStmt></Document>"
    ).encode()


async def upload(
    client: httpx.AsyncClient, token: str, content: bytes, name: str = "statement.xml", **headers: str
) -> httpx.Response:
    """POST a statement file as multipart/form-data, field ``file``."""
    media = "application/xml" if name.endswith(".xml") else "text/csv"
    return await client.post(
        "/api/v1/bank-statements", headers={**bearer(token), **headers}, files={"file": (name, content, media)}
    )


async def imported(client: httpx.AsyncClient, exchange: Exchange, content: bytes) -> dict[str, Any]:
    """Import through the API and expect 201."""
    response = await upload(client, exchange.accountant, content)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def open_items(client: httpx.AsyncClient, token: str, query: str = "") -> httpx.Response:
    return await client.get(f"/api/v1/open-items{query}", headers=bearer(token))


# --- a netting cycle -------------------------------------------------------------------------------------

EKOM_IBAN = "DE17550501201234567890"
AS_OF = "2025-03-31"


async def cycle(client: httpx.AsyncClient) -> tuple[Exchange, dict[str, str]]:
    """February 2025: HZD owes KDZ-MZ 100.00, EKOM21 owes HZD 60.00, KDZ-MZ owes EKOM21 30.00.

    Netted: HZD 60.00 (owes 40.00 more), KDZ-MZ 30.00 (is owed 70.00 more), EKOM21 30.00 (owes 30.00 more):
    one transfer of 70.00 to KDZ-MZ instead of three of 190.00 in all. Settlement numbers by provider.
    """
    exchange = await Exchange.make()
    await Member.update({Member.iban: HZD_IBAN}).where(Member.code == "HZD")
    await Member.update({Member.iban: KDZ_IBAN, Member.bic: "MALADE51MNZ"}).where(Member.code == "KDZ-MZ")
    await Member.update({Member.iban: EKOM_IBAN}).where(Member.code == "EKOM21")
    hzd_provider = await token("HZD", "provider")
    legs = (
        ("KDZ-MZ", exchange.kdz_provider, "HZD", "100.00"),
        ("HZD", hzd_provider, "EKOM21", "60.00"),
        ("EKOM21", exchange.ekom_provider, "KDZ-MZ", "30.00"),
    )
    for provider, provider_token, consumer, price in legs:
        offer_id = await published_offer(
            client, provider_token, unit_price=price, capacity=None, min_term_months=0, title=f"Dienst {provider}"
        )
        await agreement(client, exchange, offer_id, provider=provider, consumer=consumer, start="2025-02-01")
    await run(client, exchange, "2025-02")
    response = await client.get("/api/v1/settlements?period=2025-02", headers=bearer(exchange.accountant))
    assert response.status_code == 200, response.text
    numbers = {item["provider"]: item["number"] for item in response.json()["items"]}
    assert len(numbers) == 3, numbers
    return exchange, numbers


async def net(client: httpx.AsyncClient, token_value: str, **headers: str) -> httpx.Response:
    return await client.post("/api/v1/netting-runs", headers={**bearer(token_value), **headers}, json={"as_of": AS_OF})


@functools.cache
def shared_app() -> Litestar:
    """One app for the many small imports of a module: building an app takes a second, starting it milliseconds."""
    return create_app(settings())


async def stored() -> tuple[int, ...]:
    """The rows of every table an import writes to: equal before and after means the import changed nothing."""
    tables = (BankStatement, BankLine, BankAllocation, SettlementPayment, LedgerEntry, Account, RecordedAssertion)
    return (*[await table.count() for table in tables], await AuditEvent.count())
