"""Reading bank statements: camt.053 (ISO 20022, versions .001.02 and .001.08) and a simple CSV.

Parsing is pure: bytes in, ``ParsedStatement`` out, or ``StatementError`` with the reason. Amounts are read as
``Decimal`` from their text and kept as integer cents; an amount with more than two decimal places, a currency
other than EUR or a missing account IBAN is refused, never rounded or guessed.

A file is refused whole for what would break later or could hurt: an encoding other than UTF-8 or UTF-16, a DOCTYPE
(the XML parser loads no DTD, expands no entity and touches no network; a document that has one is refused), a CSV
field the csv module will not read, a NUL character, a day outside ``FIRST_DAY`` … today + ``DAYS_AHEAD``, an amount
the ledger cannot hold. Control characters in the text of a line are a bank's stray bytes: they become spaces.
Every message names where (statement and entry, or CSV line and column) and shows at most a short part of a value.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from lxml import etree

from ledger.rules import MAX_CENTS
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
#: The first day a bank file may name (booking, value, balance and creation dates). SEPA and camt.053 are younger;
#: from here on the ledger, its month files, closed periods and the reconciliation report handle every day, and no
#: arithmetic on a day (the day before an opening balance, the month after a closing one) can leave ``date``'s range.
FIRST_DAY = date(2000, 1, 1)
#: How far after today a bank file may name a day: value dates run ahead of bookings by days, never by a year.
DAYS_AHEAD = timedelta(days=366)
_AMOUNT = re.compile(r"-?[0-9]{1,15}(?:[.,][0-9]{1,2})?")
_DAY = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T.*)?", re.DOTALL)
#: C0 controls, DEL and C1 controls (Unicode category Cc): never text, whatever a bank's export writes.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ENCODING = re.compile(r"\sencoding\s*=\s*([\"'])(.*?)\1", re.DOTALL)
#: The encodings a camt.053 file may declare, by the family its bytes are written in: ISO 20022 messages are UTF-8
#: (US-ASCII is part of it), and every XML processor reads UTF-16. A single-byte encoding (ISO-8859-1, …) is refused:
#: its bytes cannot be told from mislabelled UTF-8, so a name would turn into mojibake unnoticed.
_DECLARABLE = {
    "UTF-8": frozenset({"UTF-8", "UTF8", "US-ASCII", "ASCII"}),
    "UTF-16": frozenset({"UTF-16", "UTF16", "UTF-16LE", "UTF-16BE"}),
}


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


def supported_days(today: date) -> tuple[date, date]:
    """The first and the last day a bank file may name, as of ``today``."""
    return FIRST_DAY, today + DAYS_AHEAD


def _shown(value: str, length: int = 40) -> str:
    """A value as a message quotes it: escaped (control characters visible) and cut to ``length`` characters."""
    return repr(value[:length]) + ("…" if len(value) > length else "")


def cents(text: str, where: str) -> int:
    """Exact cents of a decimal amount as written (``1190.00``, ``1190,5``); at most two decimal places."""
    value = text.strip()
    if not _AMOUNT.fullmatch(value):
        raise StatementError(f"{where}: {_shown(text)} is not an amount with at most two decimal places")
    try:
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise StatementError(f"{where}: {_shown(text)} is not an amount") from exc
    return int(amount * 100)


def _amount(text: str, where: str) -> int:
    """``cents`` of an amount the ledger can book: less than ``ledger.rules.MAX_CENTS``."""
    value = cents(text, where)
    if abs(value) >= MAX_CENTS:
        raise StatementError(f"{where}: {text.strip()} is more than the ledger holds ({_money(MAX_CENTS - 1)} at most)")
    return value


def _money(value: int) -> str:
    return f"{'-' if value < 0 else ''}{abs(value) // 100}.{abs(value) % 100:02d}"


def _date(text: str | None, where: str, days: tuple[date, date]) -> date:
    """The day ``YYYY-MM-DD`` at the start of ``text`` (a date or a date-time), within ``days``."""
    if not text:
        raise StatementError(f"{where}: a date is missing")
    found = _DAY.fullmatch(text.strip())
    try:
        if found is None:
            raise ValueError(text)
        day = date.fromisoformat(found.group(1))
    except ValueError as exc:
        raise StatementError(f"{where}: {_shown(text)} is not a date YYYY-MM-DD") from exc
    first, last = days
    if not first <= day <= last:
        raise StatementError(f"{where}: {day} lies outside the days a statement may name ({first} to {last})")
    return day


def _iban(text: str | None, where: str) -> str:
    value = normalise_iban(text or "")
    if not value:
        raise StatementError(f"{where}: the IBAN is missing")
    error = iban_error(value)
    if error:
        raise StatementError(f"{where}: {_shown(value)} is not a valid IBAN ({error})")
    return value


def _optional_iban(text: str | None) -> str | None:
    value = normalise_iban(text or "")
    return value if value and iban_error(value) is None else None


def _text(text: str | None, length: int) -> str | None:
    """Text of a line as kept: control characters become spaces, runs of white space one; None if nothing is left."""
    if text is None:
        return None
    value = " ".join(_CONTROL.sub(" ", text).split())
    return value[:length] or None


def _reference(text: str | None) -> str | None:
    """A bank's reference as kept: control characters become spaces; its other characters stay as they are, since
    the reference identifies the line when the file is imported again."""
    if text is None:
        return None
    return _CONTROL.sub(" ", text).strip()[:140] or None


def _fallback_reference(parts: tuple[str, ...], seen: Counter[tuple[str, ...]]) -> str:
    """A reference for an entry the bank gave none: a hash of its content and its occurrence in the file."""
    seen[parts] += 1
    digest = hashlib.sha256("\x1f".join((*parts, str(seen[parts]))).encode()).hexdigest()
    return f"sha256:{digest[:48]}"


def _check_total(statement: ParsedStatement, where: str) -> None:
    if abs(statement.entries_cents) >= MAX_CENTS:
        raise StatementError(
            f"{where}: the entries sum to {_money(statement.entries_cents)}, more than the ledger holds "
            f"({_money(MAX_CENTS - 1)} at most)"
        )


# --- camt.053 -------------------------------------------------------------------------------------------


def _written_in(content: bytes) -> str:
    """The encoding family of an XML document's bytes, from its byte order mark or its first character ``<``
    (XML 1.0, appendix F): ``UTF-8``, ``UTF-16LE``, ``UTF-16BE``, or the name of one a camt.053 file is never in."""
    if content.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, b"<\0\0\0", b"\0\0\0<")):
        return "UTF-32"
    if content.startswith((codecs.BOM_UTF16_LE, b"<\0")):
        return "UTF-16LE"
    if content.startswith((codecs.BOM_UTF16_BE, b"\0<")):
        return "UTF-16BE"
    if content.startswith(b"\x4c\x6f\xa7\x94"):  # "<?xm" in EBCDIC
        return "EBCDIC"
    return "UTF-8"


def _xml_codec(content: bytes) -> str:
    """The Python codec that reads a camt.053 file's bytes: UTF-8 (or its subset US-ASCII), or UTF-16.

    Refused: bytes in another encoding, an XML declaration naming another (or an unknown) encoding, and a
    declaration that does not match the bytes (``UTF-8`` in a UTF-16 file, ``UTF-16`` on 8-bit bytes).
    """
    written = _written_in(content)
    family = "UTF-16" if written.startswith("UTF-16") else written
    if family not in _DECLARABLE:
        raise StatementError(f"the file is written in {written}; a camt.053 file is UTF-8 (or UTF-16)")
    codec = written.lower()
    prefix = content[:1024].decode(codec, errors="replace").removeprefix("\ufeff")
    if not re.match(r"<\?xml\s", prefix):
        return codec
    end = prefix.find("?>")
    if end < 0:
        raise StatementError("the XML declaration (<?xml …?>) does not end within the file's first 1024 bytes")
    found = _ENCODING.search(prefix[:end])
    if found is None:
        return codec
    declared = found.group(2)
    name = declared.strip().upper().replace("_", "-")
    for other, names in _DECLARABLE.items():
        if name in names and other != family:
            raise StatementError(
                f"the XML declaration names the encoding {_shown(declared)}, but the file is written in {family}"
            )
    if name not in _DECLARABLE[family]:
        raise StatementError(
            f"the XML declaration names the encoding {_shown(declared)}; a camt.053 file is UTF-8 (or UTF-16)"
        )
    return "ascii" if name in ("US-ASCII", "ASCII") else codec


def _decoded(content: bytes, codec: str, what: str) -> str:
    """``content`` as text; a byte sequence that is not ``codec`` is refused, naming its line."""
    try:
        return content.decode(codec)
    except UnicodeDecodeError as exc:
        line = len(re.split(r"\r\n|\r|\n", content[: exc.start].decode(codec, errors="replace")))
        bad = content[exc.start : exc.start + 4].hex(" ")
        raise StatementError(
            f"{what} line {line} is not {codec.upper()} (bytes {bad} at offset {exc.start}); "
            f"the file must be {codec.upper()} throughout"
        ) from exc


def _camt_root(content: bytes) -> etree._Element:
    """The root element of a camt.053 file, read by a parser that loads no DTD, expands no entity and uses no
    network; a document with a DOCTYPE (internal, external, or only a name) is refused whole."""
    _decoded(content, _xml_codec(content), "XML")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.LxmlError as exc:
        raise StatementError(f"the file is not well-formed XML ({_shown(str(exc), 160)})") from exc
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise StatementError("the file has a DOCTYPE; a camt.053 file has none (no DTD, no entity declarations)")
    return root


class _Camt:
    """Namespace-aware access to one camt.053 document, and the days it may name."""

    def __init__(self, namespace: str, days: tuple[date, date]) -> None:
        self.ns = {"c": namespace}
        self.days = days

    def find(self, node: etree._Element, path: str) -> etree._Element | None:
        return node.find(path, self.ns)

    def text(self, node: etree._Element, path: str) -> str | None:
        found = node.find(path, self.ns)
        if found is None or found.text is None:
            return None
        return str(found.text).strip() or None

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        return list(node.findall(path, self.ns))

    def date(self, text: str | None, where: str) -> date:
        return _date(text, where, self.days)


def _signed(camt: _Camt, node: etree._Element, where: str) -> int:
    amount = camt.find(node, "c:Amt")
    if amount is None or amount.text is None:
        raise StatementError(f"{where}: the amount (Amt) is missing")
    currency = amount.get("Ccy")
    if currency != "EUR":
        raise StatementError(
            f"{where}: the currency is {_shown(currency) if currency else 'missing'}, only EUR is kept"
        )
    value = _amount(str(amount.text), where)
    if value < 0:
        raise StatementError(f"{where}: Amt is negative; the direction belongs in CdtDbtInd")
    indicator = camt.text(node, "c:CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(f"{where}: CdtDbtInd is {_shown(indicator or '')}, not CRDT or DBIT")
    return value if indicator == "CRDT" else -value


def _balance(camt: _Camt, statement: etree._Element, codes: tuple[str, ...], where: str) -> int | None:
    for balance in camt.all(statement, "c:Bal"):
        code = camt.text(balance, "c:Tp/c:CdOrPrtry/c:Cd")
        if code in codes:
            return _signed(camt, balance, f"{where}, balance {code}")
    return None


def _balance_date(camt: _Camt, statement: etree._Element, codes: tuple[str, ...], where: str) -> date | None:
    """The day of the first balance of type ``codes`` (``Dt/Dt``, or the day of ``Dt/DtTm``)."""
    for balance in camt.all(statement, "c:Bal"):
        if camt.text(balance, "c:Tp/c:CdOrPrtry/c:Cd") in codes:
            text = camt.text(balance, "c:Dt/c:Dt") or camt.text(balance, "c:Dt/c:DtTm")
            return camt.date(text, f"{where}, balance date") if text else None
    return None


def _covered_days(statement: ParsedStatement, camt: _Camt, node: etree._Element, where: str) -> None:
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


def _entry_status(camt: _Camt, entry: etree._Element) -> str | None:
    # .001.02 writes <Sts>BOOK</Sts>, .001.08 <Sts><Cd>BOOK</Cd></Sts>.
    return camt.text(entry, "c:Sts/c:Cd") or camt.text(entry, "c:Sts")


def _camt_line(camt: _Camt, entry: etree._Element, where: str, seen: Counter[tuple[str, ...]]) -> ParsedLine | None:
    if _entry_status(camt, entry) not in (None, "BOOK"):
        return None  # pending or informational entries are not booked yet
    amount = _signed(camt, entry, where)
    if amount == 0:
        raise StatementError(f"{where}: an entry of 0.00 is not a payment")
    booked = camt.text(entry, "c:BookgDt/c:Dt") or camt.text(entry, "c:BookgDt/c:DtTm")
    valued = camt.text(entry, "c:ValDt/c:Dt") or camt.text(entry, "c:ValDt/c:DtTm")
    booking_date = camt.date(booked or valued, f"{where}, BookgDt")
    value_date = camt.date(valued, f"{where}, ValDt") if valued else None
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
        remittance.extend(str(node.text) for node in camt.all(detail, "c:RmtInf/c:Ustrd") if node.text)
    remittance.extend(text for text in (camt.text(entry, "c:AddtlNtryInf"),) if text and not details)
    reference = _reference(camt.text(entry, "c:AcctSvcrRef") or camt.text(entry, "c:NtryRef"))
    if first is not None and reference is None:
        reference = _reference(camt.text(first, "c:Refs/c:AcctSvcrRef"))
    text = _text(" ".join(remittance), 1000) or ""
    end_to_end = _text(end_to_end, 140)
    if reference is None:
        parts = (booking_date.isoformat(), str(amount), end_to_end or "", counterparty_iban or "", text)
        reference = _fallback_reference(parts, seen)
    return ParsedLine(
        bank_reference=reference,
        booking_date=booking_date,
        value_date=value_date,
        amount_cents=amount,
        counterparty_iban=counterparty_iban,
        counterparty_name=_text(counterparty_name, 140),
        remittance=text,
        end_to_end_id=end_to_end,
    )


def parse_camt053(content: bytes, days: tuple[date, date]) -> list[ParsedStatement]:
    """The statements of a camt.053 document (.001.02 or .001.08) whose days lie within ``days``."""
    root = _camt_root(content)
    tag = str(root.tag)
    namespace = tag[1:].split("}")[0] if tag.startswith("{") else ""
    if namespace not in CAMT_NAMESPACES:
        raise StatementError(
            f"the XML namespace is {_shown(namespace) if namespace else 'missing'}; "
            f"expected camt.053 ({', '.join(CAMT_NAMESPACES)})"
        )
    camt = _Camt(namespace, days)
    statements = camt.all(root, "c:BkToCstmrStmt/c:Stmt")
    if not statements:
        raise StatementError("the camt.053 document holds no statement (BkToCstmrStmt/Stmt)")
    parsed: list[ParsedStatement] = []
    for number, statement in enumerate(statements, start=1):
        where = f"statement {number}"
        reference = _reference(camt.text(statement, "c:Id"))
        if not reference:
            raise StatementError(f"{where}: the statement Id is missing")
        iban = _iban(camt.text(statement, "c:Acct/c:Id/c:IBAN"), f"{where}, Acct/Id/IBAN")
        currency = camt.text(statement, "c:Acct/c:Ccy")
        if currency not in (None, "EUR"):
            raise StatementError(f"{where}: the account is kept in {_shown(currency or '')}, only EUR is kept")
        created = camt.text(statement, "c:CreDtTm")
        result = ParsedStatement(
            account_iban=iban,
            reference=reference,
            format="camt.053",
            statement_date=camt.date(created, f"{where}, CreDtTm") if created else None,
            opening_cents=_balance(camt, statement, ("OPBD", "PRCD"), where),
            closing_cents=_balance(camt, statement, ("CLBD",), where),
        )
        seen: Counter[tuple[str, ...]] = Counter()
        for index, entry in enumerate(camt.all(statement, "c:Ntry"), start=1):
            line = _camt_line(camt, entry, f"{where}, entry {index}", seen)
            if line is not None:
                result.lines.append(line)
        _check_total(result, where)
        _covered_days(result, camt, statement, where)
        parsed.append(result)
    return parsed


# --- CSV ------------------------------------------------------------------------------------------------


def _records(reader: csv.DictReader[str]) -> Iterator[tuple[str, dict[str | None, str | list[str] | None]]]:
    """The rows of ``reader`` with where each ends (``CSV line N``); a row the csv module refuses (a field over
    its size limit) is a ``StatementError`` naming its line."""
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The DictReader counts a line once it is read; its reader has counted the one that failed.
            raise StatementError(f"CSV line {reader.reader.line_num}: {exc}") from exc
        yield f"CSV line {reader.line_num}", raw


def parse_csv(content: bytes, days: tuple[date, date]) -> list[ParsedStatement]:
    """The statements (one per account) of a CSV file with the header ``CSV_COLUMNS`` (a subset will do).

    Lines may end in CR LF, LF or CR alone (as older bank exports write them). A NUL character is refused; other
    control characters in the text columns become spaces.
    """
    text = _decoded(content.removeprefix(codecs.BOM_UTF8), "utf-8", "CSV")
    lines = text.splitlines()
    if not lines:
        raise StatementError("the CSV file is empty")
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    # newline="": the csv module sees every line end as written, CR alone included, and quoted line breaks.
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise StatementError(f"CSV line 1: {exc}") from exc
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        raise StatementError(f"the CSV header lacks {', '.join(missing)}; the columns are {', '.join(CSV_COLUMNS)}")
    unknown = [_shown(name) for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise StatementError(f"the CSV header has unknown columns {', '.join(unknown[:5])}")
    digest = hashlib.sha256(content).hexdigest()
    statements: dict[str, ParsedStatement] = {}
    seen: Counter[tuple[str, ...]] = Counter()
    for where, raw in _records(reader):
        if None in raw:
            raise StatementError(f"{where}: more fields than columns")
        row = {str(key).strip(): str(value or "").strip() for key, value in raw.items()}
        for column, value in row.items():
            if "\x00" in value:
                raise StatementError(f"{where}, {column}: a NUL character (\\x00) is not text")
        if not any(row.values()):
            continue
        currency = row.get("currency") or "EUR"
        if currency != "EUR":
            raise StatementError(f"{where}: the currency is {_shown(currency)}, only EUR is kept")
        iban = _iban(row.get("account_iban"), f"{where}, account_iban")
        amount = _amount(row.get("amount", ""), f"{where}, amount")
        if amount == 0:
            raise StatementError(f"{where}: an entry of 0.00 is not a payment")
        booking_date = _date(row.get("booking_date"), f"{where}, booking_date", days)
        value_text = row.get("value_date")
        counterparty = row.get("counterparty_iban") or None
        if counterparty is not None:
            counterparty = _iban(counterparty, f"{where}, counterparty_iban")
        remittance = _text(row.get("remittance"), 1000) or ""
        end_to_end = _text(row.get("end_to_end_id"), 140)
        reference = _reference(row.get("bank_reference")) or _fallback_reference(
            (iban, booking_date.isoformat(), str(amount), end_to_end or "", counterparty or "", remittance), seen
        )
        statement = statements.setdefault(
            iban, ParsedStatement(account_iban=iban, reference=f"csv:{digest[:48]}", format="csv")
        )
        statement.lines.append(
            ParsedLine(
                bank_reference=reference,
                booking_date=booking_date,
                value_date=_date(value_text, f"{where}, value_date", days) if value_text else None,
                amount_cents=amount,
                counterparty_iban=counterparty,
                counterparty_name=_text(row.get("counterparty_name"), 140),
                remittance=remittance,
                end_to_end_id=end_to_end,
            )
        )
    if not statements:
        raise StatementError("the CSV file holds no entries")
    for statement in statements.values():
        _check_total(statement, f"the entries for {statement.account_iban}")
        # No balances in a CSV file: it covers the days of its entries.
        booked = [line.booking_date for line in statement.lines]
        statement.opening_date, statement.closing_date = min(booked), max(booked)
    return list(statements.values())


def _is_xml(content: bytes) -> bool:
    """Whether the file begins, after a byte order mark and white space, with ``<``."""
    written = _written_in(content)
    if written == "UTF-8":
        return content.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"<")
    if written.startswith("UTF-16"):
        return content[:128].decode(written.lower(), errors="replace").lstrip("\ufeff \t\r\n").startswith("<")
    return True  # UTF-32 and EBCDIC are recognised by a byte order mark or by their "<": refused as XML


def parse(content: bytes, *, today: date) -> list[ParsedStatement]:
    """camt.053 when the file is XML, else the CSV format; ``StatementError`` with the reason otherwise.

    ``today`` bounds the days the file may name (``supported_days``).
    """
    if not content.strip():
        raise StatementError("the file is empty")
    if len(content) > MAX_FILE_BYTES:
        raise StatementError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    days = supported_days(today)
    if _is_xml(content):
        return parse_camt053(content, days)
    return parse_csv(content, days)
