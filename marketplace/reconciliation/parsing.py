"""Reading bank statements: camt.053 (ISO 20022, versions .001.02 and .001.08) and a simple CSV.

Parsing is pure: bytes in, ``ParsedStatement`` out, or ``StatementError`` with the reason. Amounts are read as
``Decimal`` from their text and kept as integer cents; an amount with more than two decimal places, a currency
other than EUR or a missing account IBAN is refused, never rounded or guessed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree

from marketplace.members.identifiers import iban_error, normalise_iban

CAMT_NAMESPACES = (
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
)
#: The columns of the CSV format (header row required; ``;`` or ``,`` separated; UTF-8).
CSV_COLUMNS = (
    "account_iban",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "counterparty_iban",
    "counterparty_name",
    "remittance",
    "end_to_end_id",
    "bank_reference",
)
CSV_REQUIRED = ("account_iban", "booking_date", "amount")
MAX_FILE_BYTES = 5 * 1024 * 1024
_AMOUNT = re.compile(r"^-?\d{1,15}([.,]\d{1,2})?$")
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


class StatementError(ValueError):
    """The file is not a statement this service reads; the message says why."""


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One booked entry: a positive amount was received, a negative one paid out."""

    bank_reference: str
    booking_date: date
    value_date: date | None
    amount_cents: int
    counterparty_iban: str | None
    counterparty_name: str | None
    remittance: str
    end_to_end_id: str | None


@dataclass(slots=True)
class ParsedStatement:
    """One account statement: its account, reference, balances (camt.053 only) and entries."""

    account_iban: str
    reference: str
    format: str
    statement_date: date | None = None
    opening_cents: int | None = None
    closing_cents: int | None = None
    #: The opening balance holds at the start of ``opening_date``, the closing balance at the end of ``closing_date``.
    opening_date: date | None = None
    closing_date: date | None = None
    lines: list[ParsedLine] = field(default_factory=list)

    @property
    def entries_cents(self) -> int:
        """The sum of the entries, signed."""
        return sum(line.amount_cents for line in self.lines)


def cents(text: str, where: str) -> int:
    """Exact cents of a decimal amount as written (``1190.00``, ``1190,5``); at most two decimal places."""
    value = text.strip()
    if not _AMOUNT.match(value):
        raise StatementError(f"{where}: {text!r} is not an amount with at most two decimal places")
    try:
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise StatementError(f"{where}: {text!r} is not an amount") from exc
    return int(amount * 100)


def _date(text: str | None, where: str) -> date:
    if not text:
        raise StatementError(f"{where}: a date is missing")
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError as exc:
        raise StatementError(f"{where}: {text!r} is not a date YYYY-MM-DD") from exc


def _iban(text: str | None, where: str) -> str:
    value = normalise_iban(text or "")
    error = iban_error(value)
    if error:
        raise StatementError(f"{where}: {value or 'no IBAN'} is not a valid IBAN ({error})")
    return value


def _optional_iban(text: str | None) -> str | None:
    value = normalise_iban(text or "")
    return value if value and iban_error(value) is None else None


def _clip(text: str | None, length: int = 140) -> str | None:
    if text is None:
        return None
    value = " ".join(text.split())
    return value[:length] or None


def _fallback_reference(parts: tuple[str, ...], seen: Counter[tuple[str, ...]]) -> str:
    """A reference for an entry the bank gave none: a hash of its content and its occurrence in the file."""
    seen[parts] += 1
    digest = hashlib.sha256("\x1f".join((*parts, str(seen[parts]))).encode()).hexdigest()
    return f"sha256:{digest[:48]}"


# --- camt.053 -------------------------------------------------------------------------------------------


class _Camt:
    """Namespace-aware access to one camt.053 document."""

    def __init__(self, namespace: str) -> None:
        self.ns = {"c": namespace}

    def find(self, node: ElementTree.Element, path: str) -> ElementTree.Element | None:
        return node.find(path, self.ns)

    def text(self, node: ElementTree.Element, path: str) -> str | None:
        found = node.find(path, self.ns)
        if found is None or found.text is None:
            return None
        return found.text.strip() or None

    def all(self, node: ElementTree.Element, path: str) -> list[ElementTree.Element]:
        return node.findall(path, self.ns)


def _signed(camt: _Camt, node: ElementTree.Element, where: str) -> int:
    amount = camt.find(node, "c:Amt")
    if amount is None or amount.text is None:
        raise StatementError(f"{where}: the amount (Amt) is missing")
    currency = amount.get("Ccy")
    if currency != "EUR":
        raise StatementError(f"{where}: the currency is {currency or 'missing'}, only EUR is kept")
    value = cents(amount.text, where)
    if value < 0:
        raise StatementError(f"{where}: Amt is negative; the direction belongs in CdtDbtInd")
    indicator = camt.text(node, "c:CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(f"{where}: CdtDbtInd is {indicator!r}, not CRDT or DBIT")
    return value if indicator == "CRDT" else -value


def _balance(camt: _Camt, statement: ElementTree.Element, codes: tuple[str, ...], where: str) -> int | None:
    for balance in camt.all(statement, "c:Bal"):
        code = camt.text(balance, "c:Tp/c:CdOrPrtry/c:Cd")
        if code in codes:
            return _signed(camt, balance, f"{where}, balance {code}")
    return None


def _balance_date(camt: _Camt, statement: ElementTree.Element, codes: tuple[str, ...], where: str) -> date | None:
    """The day of the first balance of type ``codes`` (``Dt/Dt``, or the day of ``Dt/DtTm``)."""
    for balance in camt.all(statement, "c:Bal"):
        if camt.text(balance, "c:Tp/c:CdOrPrtry/c:Cd") in codes:
            text = camt.text(balance, "c:Dt/c:Dt") or camt.text(balance, "c:Dt/c:DtTm")
            return _date(text, f"{where}, balance date") if text else None
    return None


def _covered_days(statement: ParsedStatement, camt: _Camt, node: ElementTree.Element, where: str) -> None:
    """The first and last day the statement covers, from its balances' dates, else from its entries.

    OPBD is the balance at the start of its day, PRCD the closing balance of the day before the statement.
    """
    booked = [line.booking_date for line in statement.lines]
    opening = _balance_date(camt, node, ("OPBD",), where)
    if opening is None:
        previous = _balance_date(camt, node, ("PRCD",), where)
        opening = None if previous is None else previous + timedelta(days=1)
    closing = _balance_date(camt, node, ("CLBD",), where)
    statement.closing_date = closing or (max(booked) if booked else statement.statement_date)
    statement.opening_date = opening or (min(booked) if booked else statement.closing_date)
    if statement.opening_date and statement.closing_date and statement.opening_date > statement.closing_date:
        raise StatementError(f"{where}: the opening balance is dated after the closing balance")


def _entry_status(camt: _Camt, entry: ElementTree.Element) -> str | None:
    # .001.02 writes <Sts>BOOK</Sts>, .001.08 <Sts><Cd>BOOK</Cd></Sts>.
    return camt.text(entry, "c:Sts/c:Cd") or camt.text(entry, "c:Sts")


def _camt_line(
    camt: _Camt, entry: ElementTree.Element, where: str, seen: Counter[tuple[str, ...]]
) -> ParsedLine | None:
    if _entry_status(camt, entry) not in (None, "BOOK"):
        return None  # pending or informational entries are not booked yet
    amount = _signed(camt, entry, where)
    if amount == 0:
        raise StatementError(f"{where}: an entry of 0.00 is not a payment")
    booked = camt.text(entry, "c:BookgDt/c:Dt") or camt.text(entry, "c:BookgDt/c:DtTm")
    valued = camt.text(entry, "c:ValDt/c:Dt") or camt.text(entry, "c:ValDt/c:DtTm")
    booking_date = _date(booked or valued, f"{where}, BookgDt")
    value_date = _date(valued, f"{where}, ValDt") if valued else None
    details = camt.all(entry, "c:NtryDtls/c:TxDtls")
    first = details[0] if details else None
    remittance: list[str] = []
    end_to_end: str | None = None
    counterparty_iban: str | None = None
    counterparty_name: str | None = None
    if first is not None:
        end_to_end = camt.text(first, "c:Refs/c:EndToEndId")
        if end_to_end == "NOTPROVIDED":
            end_to_end = None
        # The counterparty: the debtor of money received, the creditor of money paid out.
        party = "Dbtr" if amount > 0 else "Cdtr"
        counterparty_iban = _optional_iban(camt.text(first, f"c:RltdPties/c:{party}Acct/c:Id/c:IBAN"))
        counterparty_name = camt.text(first, f"c:RltdPties/c:{party}/c:Nm") or camt.text(
            first, f"c:RltdPties/c:{party}/c:Pty/c:Nm"
        )
    for detail in details:
        remittance.extend(node.text.strip() for node in camt.all(detail, "c:RmtInf/c:Ustrd") if node.text)
    remittance.extend(text for text in (camt.text(entry, "c:AddtlNtryInf"),) if text and not details)
    reference = camt.text(entry, "c:AcctSvcrRef") or camt.text(entry, "c:NtryRef")
    if first is not None and reference is None:
        reference = camt.text(first, "c:Refs/c:AcctSvcrRef")
    text = " ".join(" ".join(remittance).split())
    if reference is None:
        parts = (booking_date.isoformat(), str(amount), end_to_end or "", counterparty_iban or "", text)
        reference = _fallback_reference(parts, seen)
    return ParsedLine(
        bank_reference=reference[:140],
        booking_date=booking_date,
        value_date=value_date,
        amount_cents=amount,
        counterparty_iban=counterparty_iban,
        counterparty_name=_clip(counterparty_name),
        remittance=text[:1000],
        end_to_end_id=_clip(end_to_end),
    )


def parse_camt053(content: bytes) -> list[ParsedStatement]:
    """The statements of a camt.053 document (.001.02 or .001.08)."""
    if _DOCTYPE.search(content[:4096]):
        raise StatementError("a camt.053 file has no DOCTYPE or entity declarations")
    try:
        root = ElementTree.fromstring(content)  # noqa: S314 - DOCTYPE and entities refused above
    except ElementTree.ParseError as exc:
        raise StatementError(f"the file is not well-formed XML ({exc})") from exc
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if namespace not in CAMT_NAMESPACES:
        raise StatementError(
            f"the XML namespace is {namespace or 'missing'!r}; expected camt.053 ({', '.join(CAMT_NAMESPACES)})"
        )
    camt = _Camt(namespace)
    statements = camt.all(root, "c:BkToCstmrStmt/c:Stmt")
    if not statements:
        raise StatementError("the camt.053 document holds no statement (BkToCstmrStmt/Stmt)")
    parsed: list[ParsedStatement] = []
    for number, statement in enumerate(statements, start=1):
        where = f"statement {number}"
        reference = camt.text(statement, "c:Id")
        if not reference:
            raise StatementError(f"{where}: the statement Id is missing")
        iban = _iban(camt.text(statement, "c:Acct/c:Id/c:IBAN"), f"{where}, Acct/Id/IBAN")
        currency = camt.text(statement, "c:Acct/c:Ccy")
        if currency not in (None, "EUR"):
            raise StatementError(f"{where}: the account is kept in {currency}, only EUR is kept")
        created = camt.text(statement, "c:CreDtTm")
        result = ParsedStatement(
            account_iban=iban,
            reference=reference[:140],
            format="camt.053",
            statement_date=_date(created, f"{where}, CreDtTm") if created else None,
            opening_cents=_balance(camt, statement, ("OPBD", "PRCD"), where),
            closing_cents=_balance(camt, statement, ("CLBD",), where),
        )
        seen: Counter[tuple[str, ...]] = Counter()
        for index, entry in enumerate(camt.all(statement, "c:Ntry"), start=1):
            line = _camt_line(camt, entry, f"{where}, entry {index}", seen)
            if line is not None:
                result.lines.append(line)
        _covered_days(result, camt, statement, where)
        parsed.append(result)
    return parsed


# --- CSV ------------------------------------------------------------------------------------------------


def parse_csv(content: bytes) -> list[ParsedStatement]:
    """The statements (one per account) of a CSV file with the header ``CSV_COLUMNS`` (a subset will do)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementError("a CSV statement must be UTF-8 text") from exc
    lines = text.splitlines()
    if not lines:
        raise StatementError("the CSV file is empty")
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        raise StatementError(f"the CSV header lacks {', '.join(missing)}; the columns are {', '.join(CSV_COLUMNS)}")
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise StatementError(f"the CSV header has unknown columns {', '.join(unknown)}")
    digest = hashlib.sha256(content).hexdigest()
    statements: dict[str, ParsedStatement] = {}
    seen: Counter[tuple[str, ...]] = Counter()
    for number, raw in enumerate(reader, start=2):
        where = f"CSV line {number}"
        if None in raw:
            raise StatementError(f"{where}: more fields than columns")
        row = {key.strip(): (value or "").strip() for key, value in raw.items() if key is not None}
        if not any(row.values()):
            continue
        currency = row.get("currency") or "EUR"
        if currency != "EUR":
            raise StatementError(f"{where}: the currency is {currency}, only EUR is kept")
        iban = _iban(row.get("account_iban"), f"{where}, account_iban")
        amount = cents(row.get("amount", ""), f"{where}, amount")
        if amount == 0:
            raise StatementError(f"{where}: an entry of 0.00 is not a payment")
        booking_date = _date(row.get("booking_date"), f"{where}, booking_date")
        value_text = row.get("value_date")
        counterparty = row.get("counterparty_iban") or None
        if counterparty is not None:
            counterparty = _iban(counterparty, f"{where}, counterparty_iban")
        remittance = " ".join((row.get("remittance") or "").split())[:1000]
        end_to_end = _clip(row.get("end_to_end_id") or None)
        reference = row.get("bank_reference") or _fallback_reference(
            (iban, booking_date.isoformat(), str(amount), end_to_end or "", counterparty or "", remittance), seen
        )
        statement = statements.setdefault(
            iban, ParsedStatement(account_iban=iban, reference=f"csv:{digest[:48]}", format="csv")
        )
        statement.lines.append(
            ParsedLine(
                bank_reference=reference[:140],
                booking_date=booking_date,
                value_date=_date(value_text, f"{where}, value_date") if value_text else None,
                amount_cents=amount,
                counterparty_iban=counterparty,
                counterparty_name=_clip(row.get("counterparty_name") or None),
                remittance=remittance,
                end_to_end_id=end_to_end,
            )
        )
    if not statements:
        raise StatementError("the CSV file holds no entries")
    for statement in statements.values():
        # No balances in a CSV file: it covers the days of its entries.
        booked = [line.booking_date for line in statement.lines]
        statement.opening_date, statement.closing_date = min(booked), max(booked)
    return list(statements.values())


def parse(content: bytes) -> list[ParsedStatement]:
    """camt.053 when the file is XML, else the CSV format; ``StatementError`` with the reason otherwise."""
    if not content.strip():
        raise StatementError("the file is empty")
    if len(content) > MAX_FILE_BYTES:
        raise StatementError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    if content.lstrip().startswith(b"<"):
        return parse_camt053(content)
    return parse_csv(content)
