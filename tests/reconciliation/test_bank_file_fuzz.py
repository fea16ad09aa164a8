"""Fuzzing the text of bank files: whatever a camt.053 or CSV file holds in its names, remittance, references,
IBANs, amounts and dates (control characters, NUL, surrogates, huge values, impossible days), the import answers
201 or a 4xx problem, never a 5xx; a 4xx stores nothing, and what a 201 stores holds no control character and no
day outside the supported range."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from xml.sax.saxutils import escape

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from marketplace.clock import today
from marketplace.members.tables import Member
from tests.builders import member, running_app, token
from tests.reconciliation.helpers import CLEARING_IBAN, HZD_IBAN, KDZ_IBAN, V02, V08, shared_app, stored, upload

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Control characters (Unicode category Cc), which no stored text of a line may hold.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TEXT_COLUMNS = ("bank_reference", "counterparty_name", "remittance", "end_to_end_id", "counterparty_iban")

# --- strategies -----------------------------------------------------------------------------------------

#: Any character: controls, NUL, surrogates (written as the file's encoder allows: surrogatepass), private use.
ANY_CHARACTER = st.characters(exclude_categories=())
CONTROL_CHARACTER = st.characters(max_codepoint=0x9F, categories=["Cc"])
#: What a huge value is made of: ASCII, two- three- and four-byte UTF-8, white space, NUL, a C1 control.
HUGE_CHARACTERS = ["x", "ä", "€", "\U0001d11e", " ", "\x00", "\x85"]
#: Values of each kind of field that no bank writes, or no ledger holds.
ODD_VALUES = {
    "day": ("0001-01-01", "9999-12-31", "1999-12-31", "2025-02-30", "20250310", "2025-03-10T06:00:00+01:00", ""),
    "amount": ("10000000000000.00", "9999999999999.99", "-0.00", "0", "1e3", "１０.00", "NaN", "12.345", " 7.50 "),
    "encoding": ("x-nonsense", "UTF-7", "ISO-8859-1", "UTF-32", "utf8", "ascii"),
    "iban": ("DE00123", "de89370400440532013000", "DE89 3704 0044 0532 0130 00 ", "NOTPROVIDED"),
    "text": ("", " ", "NOTPROVIDED", "\u202e", "S-2025-000001 S-2025-000002", "&amp;"),
}
#: The kind of each field (by its name's last part); a name not listed is text.
FIELD_KINDS = {
    **dict.fromkeys(("booked", "valued", "created", "opening_day", "closing_day"), "day"),
    **dict.fromkeys(("amount", "opening", "closing"), "amount"),
    **dict.fromkeys(("account", "counterparty"), "iban"),
    "encoding": "encoding",
}


def _fuzzed(draw: st.DrawFn, name: str, valid: str) -> str:
    """A value in place of the field ``name``'s ``valid`` one: anything at all, ``valid`` with a control character
    in it, a huge value (beyond every column and the csv module's field size limit), or an odd value of its kind."""
    kind = draw(st.sampled_from(["anything", "control", "control", "huge", "odd", "odd"]))
    if kind == "anything":
        return draw(st.text(ANY_CHARACTER, max_size=30))
    if kind == "control":
        at = draw(st.integers(0, len(valid)))
        return valid[:at] + draw(CONTROL_CHARACTER) + valid[at:]
    if kind == "huge":
        return draw(st.sampled_from(HUGE_CHARACTERS)) * draw(st.integers(135, 140_000))
    return draw(st.sampled_from(ODD_VALUES[FIELD_KINDS.get(name.rsplit(":", 1)[-1], "text")]))


def _with_fuzz(draw: st.DrawFn, fields: dict[str, str]) -> dict[str, str]:
    """``fields`` (a valid file's) with one to three of them fuzzed: any fields, or only text fields (whose odd
    values a file may well carry and still be imported)."""
    names = sorted(fields)
    text = [name for name in names if FIELD_KINDS.get(name.rsplit(":", 1)[-1], "text") == "text"]
    chosen = st.sets(st.sampled_from(names), min_size=1, max_size=3) | st.sets(
        st.sampled_from(text), min_size=1, max_size=3
    )
    for name in draw(chosen):
        fields[name] = _fuzzed(draw, name, fields[name])
    return fields


def _valid_line(draw: st.DrawFn, number: int) -> dict[str, str]:
    day = draw(st.dates(date(2000, 1, 1), today() + timedelta(days=366)))
    amount = draw(st.decimals(min_value="0.01", max_value="99999.99", places=2))
    return {
        f"{number}:amount": f"{'-' if draw(st.booleans()) else ''}{amount}",
        f"{number}:booked": day.isoformat(),
        f"{number}:valued": day.isoformat(),
        f"{number}:reference": str(draw(st.uuids())),
        f"{number}:name": draw(st.sampled_from(["Hessische Zentrale für Datenverarbeitung", "Stadt Kassel", ""])),
        f"{number}:counterparty": draw(st.sampled_from([HZD_IBAN, KDZ_IBAN, "DE89 3704 0044 0532 0130 00", ""])),
        f"{number}:remittance": draw(st.sampled_from(["Rechnung S-2025-000001", "Miete März", ""])),
        f"{number}:end_to_end": draw(st.sampled_from(["S-2025-000002", "NOTPROVIDED", "E2E-1"])),
    }


def _lines(draw: st.DrawFn) -> dict[str, str]:
    fields: dict[str, str] = {}
    for number in range(draw(st.integers(1, 3))):
        fields.update(_valid_line(draw, number))
    return fields


def _camt_entry(fields: dict[str, str], number: int, version: str) -> str:
    def text(name: str) -> str:
        return escape(fields[f"{number}:{name}"])

    credit = not fields[f"{number}:amount"].startswith("-")
    party, account = ("Dbtr", "DbtrAcct") if credit else ("Cdtr", "CdtrAcct")
    name = f"<Nm>{text('name')}</Nm>"
    party_xml = f"<{party}>{name}</{party}>" if version == V02 else f"<{party}><Pty>{name}</Pty></{party}>"
    status = "<Sts>BOOK</Sts>" if version == V02 else "<Sts><Cd>BOOK</Cd></Sts>"
    return (
        f"<Ntry><Amt Ccy='EUR'>{escape(fields[f'{number}:amount'].removeprefix('-'))}</Amt>"
        f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>{status}"
        f"<BookgDt><Dt>{text('booked')}</Dt></BookgDt><ValDt><Dt>{text('valued')}</Dt></ValDt>"
        f"<AcctSvcrRef>{text('reference')}</AcctSvcrRef><NtryDtls><TxDtls>"
        f"<Refs><EndToEndId>{text('end_to_end')}</EndToEndId></Refs>"
        f"<RltdPties>{party_xml}<{account}><Id><IBAN>{text('counterparty')}</IBAN></Id></{account}></RltdPties>"
        f"<RmtInf><Ustrd>{text('remittance')}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
    )


@st.composite
def camt_files(draw: st.DrawFn) -> bytes:
    """A camt.053 file (.001.02 or .001.08, UTF-8 or UTF-16) with some of its text fields fuzzed."""
    version = draw(st.sampled_from([V02, V08]))
    day = draw(st.dates(date(2000, 1, 2), today()))
    lines = _lines(draw)
    statement = {"id": str(draw(st.uuids())), "created": day.isoformat(), "account": CLEARING_IBAN}
    if draw(st.booleans()):  # PRCD: the closing balance of the day before; CLBD: that of the statement's day
        before = (day - timedelta(days=1)).isoformat()
        statement.update({"opening": "0.00", "opening_day": before, "closing": "0.00", "closing_day": day.isoformat()})
    encoding = draw(st.sampled_from(["UTF-8", "UTF-16"]))
    fields = _with_fuzz(draw, {"encoding": encoding, **statement, **lines})
    balances = "".join(
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy='EUR'>{escape(fields[amount])}</Amt>"
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{escape(fields[amount + '_day'])}</Dt></Dt></Bal>"
        for code, amount in (("PRCD", "opening"), ("CLBD", "closing"))
        if amount in fields
    )
    entries = "".join(_camt_entry(fields, number, version) for number in range(len(lines) // 8))
    document = (
        f'<?xml version="1.0" encoding="{fields["encoding"]}"?><Document xmlns="{version}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>{escape(fields['id'])}</Id>"
        f"<CreDtTm>{escape(fields['created'])}</CreDtTm>"
        f"<Acct><Id><IBAN>{escape(fields['account'])}</IBAN></Id><Ccy>EUR</Ccy></Acct>{balances}{entries}"
        "</Stmt></BkToCstmrStmt></Document>"
    )
    return document.encode("utf-16" if fields["encoding"] == "UTF-16" else "utf-8", errors="surrogatepass")


def _csv_value(value: str) -> str:
    """A CSV field as a spreadsheet writes it: quoted (quotes doubled) when it holds a separator, quote or line end."""
    return '"' + value.replace('"', '""') + '"' if re.search(r'[;"\r\n]', value) else value


CSV_FIELDS = ("account", "booked", "valued", "amount", "counterparty", "name", "remittance", "end_to_end", "reference")


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV file with some of its fields fuzzed, with LF, CR LF or CR line ends."""
    lines = _lines(draw)
    count = len(lines) // 8
    fields = _with_fuzz(draw, {**lines, **{f"{number}:account": CLEARING_IBAN for number in range(count)}})
    header = "account_iban;booking_date;value_date;amount;counterparty_iban;counterparty_name;remittance;"
    header += "end_to_end_id;bank_reference"
    rows = [";".join(_csv_value(fields[f"{number}:{name}"]) for name in CSV_FIELDS) for number in range(count)]
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return end.join([header, *rows, ""]).encode("utf-8", errors="surrogatepass")


# --- the property ---------------------------------------------------------------------------------------


async def _accountant() -> str:
    if not await Member.exists().where(Member.code == "KOPIT"):
        await member("KOPIT", iban=CLEARING_IBAN)
    return await token("KOPIT", "coop_accountant")


async def _imported_or_refused(content: bytes, name: str) -> None:
    async with running_app(shared_app()) as client:
        accountant = await _accountant()
        before = await stored()
        response: httpx.Response = await upload(client, accountant, content, name=name)
        after = await stored()
    event(f"HTTP {response.status_code}")
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        assert before == after, response.text
        return
    assert response.status_code == 201, response.text
    first, last = date(2000, 1, 1), today() + timedelta(days=366)
    lines: list[dict[str, Any]] = response.json()["lines"]
    for line in lines:
        for column in TEXT_COLUMNS:
            assert not CONTROL.search(line[column] or ""), (column, line[column])
        for column in ("booking_date", "value_date"):
            assert first <= date.fromisoformat(line[column] or line["booking_date"]) <= last, (column, line[column])


@FUZZ
@given(content=camt_files())
async def test_any_camt_file_is_imported_or_refused_with_nothing_stored(content: bytes) -> None:
    await _imported_or_refused(content, "statement.xml")


@FUZZ
@given(content=csv_files())
async def test_any_csv_file_is_imported_or_refused_with_nothing_stored(content: bytes) -> None:
    await _imported_or_refused(content, "umsaetze.csv")
