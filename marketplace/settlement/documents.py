"""Documents of a settlement: a PDF a person can file (fpdf2) and an XRechnung / EN 16931 CII invoice (drafthorse).

Both are made from the settlement as the API answers it plus the parties' directory entries; neither computes
money (every figure is a rounded, stored amount). The CII document is validated against the EN 16931 XSD that
drafthorse ships (``serialize`` does this offline); the KoSIT Schematron rules of XRechnung are not run here.

Text stored before the input rules of ``marketplace.text`` may hold characters a document cannot carry (XML has
no way to write most control characters): every stored text passes ``text.printable`` first, so that such a row
still gives a document, with a space where the character was.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem
from fpdf import FPDF
from msgspec.structs import replace

from marketplace.booking.calendar import period_bounds
from marketplace.settlement.schemas import Settlement
from marketplace.text import printable

XRECHNUNG_GUIDELINE = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
CII_SCHEMA = "FACTUR-X_EN16931"
EXEMPT = "exempt_public_cooperation"
EXEMPT_NOTE = (
    "Leistung zwischen juristischen Personen des öffentlichen Rechts im Rahmen der Zusammenarbeit; "
    "nicht steuerbar nach § 2b Abs. 3 UStG."
)
#: VAT category codes of EN 16931 (UNTDID 5305): O = services outside the scope of tax, S = standard rate.
CATEGORY = {EXEMPT: "O", "vat_19": "S", "vat_7": "S"}
#: UN/ECE Recommendation 20 "one" (C62): units of the exchange are free text, so the quantity is counted in ones.
UNIT_CODE = "C62"
PERIOD_NAMES = {
    1: "Januar",
    2: "Februar",
    3: "März",
    4: "April",
    5: "Mai",
    6: "Juni",
    7: "Juli",
    8: "August",
    9: "September",
    10: "Oktober",
    11: "November",
    12: "Dezember",
}

# The PDF's standard fonts know Latin-1 only; a few common typographic characters are spelled out.
_REPLACEMENTS = str.maketrans(
    {"–": "-", "—": "-", "„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "€": "EUR", "…": "..."}
)


def _latin1(text: str) -> str:
    return text.translate(_REPLACEMENTS).encode("latin-1", "replace").decode("latin-1")


def _printable(
    settlement: Settlement, parties: dict[str, dict[str, Any]]
) -> tuple[Settlement, dict[str, dict[str, Any]]]:
    """The settlement and parties with every stored text a document can carry (see the module's docstring)."""
    lines = [
        replace(line, description=printable(line.description), unit=printable(line.unit)) for line in settlement.lines
    ]
    reason = settlement.reversal_reason
    safe = replace(settlement, lines=lines, reversal_reason=printable(reason, multiline=True) if reason else reason)
    safe_parties = {
        role: {key: printable(value) if isinstance(value, str) else value for key, value in party.items()}
        for role, party in parties.items()
    }
    return safe, safe_parties


def _de(amount: str) -> str:
    """``1234.50`` as Germans write it: ``1.234,50``."""
    whole, _, cents = amount.partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups: list[str] = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return f"{sign}{'.'.join(groups) or '0'},{cents}"


def _month(period: str) -> str:
    year, month = period.split("-")
    return f"{PERIOD_NAMES[int(month)]} {year}"


def _party_lines(party: dict[str, Any], *, leitweg: bool) -> list[str]:
    lines = [str(party.get("name") or party["code"]), f"Mitgliedsnummer {party['code']}"]
    if party.get("state"):
        lines.append(f"Bundesland {party['state']}")
    if party.get("contact_email"):
        lines.append(str(party["contact_email"]))
    if leitweg:
        lines.append(f"Leitweg-ID: {party.get('leitweg_id') or 'nicht hinterlegt'}")
    return lines


class _Pdf(FPDF):
    def __init__(self, number: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.number = number
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(f"Leistungsverrechnung {number}")
        self.set_author("KOPIT eG")
        self.set_creator("KOPIT Leistungsaustausch")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, _latin1(f"Leistungsverrechnung {self.number} - Seite {self.page_no()}/{{nb}}"), align="C")


def pdf(settlement: Settlement, parties: dict[str, dict[str, Any]], issued: date) -> bytes:
    """The settlement as a PDF: parties, Leitweg-ID, period, number, lines with agreement references, totals."""
    settlement, parties = _printable(settlement, parties)
    doc = _Pdf(settlement.number)
    doc.alias_nb_pages()
    doc.add_page()
    doc.set_font("Helvetica", "B", 15)
    doc.cell(0, 8, _latin1(f"Leistungsverrechnung {settlement.number}"), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", size=10)
    clearing = parties["clearing"]
    first, last = period_bounds(settlement.period)
    facts = [
        f"Abrechnungszeitraum: {_month(settlement.period)} ({first:%d.%m.%Y} - {last:%d.%m.%Y})",
        f"Belegdatum: {issued:%d.%m.%Y}",
        f"Verrechnung über: {clearing.get('name') or clearing['code']} (Clearingstelle)",
    ]
    if settlement.status == "reversed":
        facts.append(f"STORNIERT am {settlement.reversed_at:%d.%m.%Y}: {settlement.reversal_reason}")
    for fact in facts:
        doc.multi_cell(0, 5, _latin1(fact), new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)
    top = doc.get_y()
    for column, (title, key, leitweg) in enumerate(
        [("Leistungserbringer", "provider", False), ("Leistungsempfänger", "consumer", True)]
    ):
        doc.set_xy(doc.l_margin + column * 95, top)
        doc.set_font("Helvetica", "B", 10)
        doc.cell(90, 5, _latin1(title), new_x="LEFT", new_y="NEXT")
        doc.set_font("Helvetica", size=10)
        for text in _party_lines(parties[key], leitweg=leitweg):
            doc.multi_cell(90, 5, _latin1(text), new_x="LEFT", new_y="NEXT")
    doc.set_xy(doc.l_margin, max(doc.get_y(), top + 30) + 4)

    widths = (8, 30, 60, 18, 20, 18, 18, 18)
    headers = ("Nr.", "Vereinbarung", "Leistung", "Menge", "Einzelpreis", "Netto", "USt", "Brutto")
    doc.set_font("Helvetica", "B", 8)
    for width, header in zip(widths, headers, strict=True):
        doc.cell(width, 6, _latin1(header), border="B", align="R" if width == 18 or header == "Einzelpreis" else "L")
    doc.ln()
    doc.set_font("Helvetica", size=8)
    exempt = False
    for line in settlement.lines:
        marker = " *" if line.tax_treatment == EXEMPT else ""
        exempt = exempt or bool(marker)
        description = f"{line.description}{marker}"
        cells = (
            (str(line.line), "L"),
            (line.agreement_reference, "L"),
            (description, "L"),
            (f"{line.quantity} {line.unit}", "R"),
            (_de(line.unit_price), "R"),
            (_de(line.net), "R"),
            (f"{_de(line.tax)} ({line.tax_rate} %)", "R"),
            (_de(line.gross), "R"),
        )
        wrapped = doc.multi_cell(widths[2], 5, _latin1(description), dry_run=True, output="LINES")
        height = 5 * max(1, len(wrapped) if isinstance(wrapped, list) else 1)
        if doc.will_page_break(height):
            doc.add_page()
        y = doc.get_y()
        x = doc.l_margin
        for width, (text, align) in zip(widths, cells, strict=True):
            doc.set_xy(x, y)
            doc.multi_cell(width, 5, _latin1(text), align=align, max_line_height=5)
            x += width
        doc.set_xy(doc.l_margin, y + height)
    doc.ln(2)
    doc.set_font("Helvetica", "B", 10)
    for label, amount in (
        ("Summe netto", settlement.totals.net),
        ("Umsatzsteuer", settlement.totals.tax),
        ("Gesamtbetrag brutto", settlement.totals.gross),
    ):
        doc.cell(150, 6, _latin1(label), align="R")
        doc.cell(40, 6, _latin1(f"{_de(amount)} EUR"), align="R", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", size=9)
    doc.ln(3)
    if exempt:
        doc.multi_cell(0, 5, _latin1(f"* {EXEMPT_NOTE}"), new_x="LMARGIN", new_y="NEXT")
    payment = f"Bitte überweisen Sie den Gesamtbetrag unter Angabe von {settlement.number} an die Clearingstelle"
    if clearing.get("iban"):
        payment += f", IBAN {clearing['iban']}"
        if clearing.get("bic"):
            payment += f", BIC {clearing['bic']}"
    doc.multi_cell(0, 5, _latin1(payment + "."), new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def _amount(text: str) -> Decimal:
    return Decimal(text)


def xrechnung(settlement: Settlement, parties: dict[str, dict[str, Any]], issued: date) -> bytes:
    """The settlement as an EN 16931 CII invoice (XRechnung guideline), BT-10 = the consumer's Leitweg-ID."""
    settlement, parties = _printable(settlement, parties)
    provider, consumer, clearing = parties["provider"], parties["consumer"], parties["clearing"]
    first, last = period_bounds(settlement.period)
    doc = Document()
    doc.context.guideline_parameter.id = XRECHNUNG_GUIDELINE
    doc.header.id = settlement.number
    doc.header.type_code = "380"
    doc.header.issue_date_time = issued
    note = IncludedNote()
    note.content = f"Leistungsverrechnung {settlement.period} über {clearing.get('name') or clearing['code']}"
    doc.header.notes.add(note)
    if any(line.tax_treatment == EXEMPT for line in settlement.lines):
        exempt_note = IncludedNote()
        exempt_note.content = EXEMPT_NOTE
        doc.header.notes.add(exempt_note)

    # BT-10: the buyer reference is the consumer's Leitweg-ID (its member code when none is on file).
    doc.trade.agreement.buyer_reference = consumer.get("leitweg_id") or consumer["code"]
    doc.trade.agreement.seller.id = provider["code"]
    doc.trade.agreement.seller.name = provider.get("name") or provider["code"]
    doc.trade.agreement.seller.address.country_id = "DE"
    if provider.get("state"):
        doc.trade.agreement.seller.address.country_subdivision = provider["state"]
    if provider.get("contact_email"):
        doc.trade.agreement.seller.electronic_address.uri_ID = ("EM", provider["contact_email"])
    doc.trade.agreement.buyer.id = consumer["code"]
    doc.trade.agreement.buyer.name = consumer.get("name") or consumer["code"]
    doc.trade.agreement.buyer.address.country_id = "DE"
    if consumer.get("state"):
        doc.trade.agreement.buyer.address.country_subdivision = consumer["state"]
    if consumer.get("contact_email"):
        doc.trade.agreement.buyer.electronic_address.uri_ID = ("EM", consumer["contact_email"])

    doc.trade.delivery.event.occurrence = last
    doc.trade.settlement.currency_code = "EUR"
    doc.trade.settlement.payment_reference = settlement.number
    doc.trade.settlement.payee.name = clearing.get("account_holder") or clearing.get("name") or clearing["code"]
    means = PaymentMeans()
    if clearing.get("iban"):
        means.type_code = "58"  # SEPA credit transfer
        means.payee_account.iban = clearing["iban"]
    else:
        means.type_code = "1"  # instrument not defined
    doc.trade.settlement.payment_means.add(means)
    terms = PaymentTerms()
    terms.description = f"Zahlbar an die Clearingstelle unter Angabe von {settlement.number}."
    doc.trade.settlement.terms.add(terms)
    doc.trade.settlement.period.start = first
    doc.trade.settlement.period.end = last

    breakdown: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal("0.00"), Decimal("0.00")])
    for line in settlement.lines:
        item = LineItem()
        item.document.line_id = str(line.line)
        item.product.name = line.description
        item.product.description = f"Vereinbarung {line.agreement_reference}; Einheit {line.unit}"
        item.agreement.net.amount = _amount(line.unit_price)
        item.delivery.billed_quantity = (Decimal(line.quantity), UNIT_CODE)
        category = CATEGORY[line.tax_treatment]
        item.settlement.trade_tax.type_code = "VAT"
        item.settlement.trade_tax.category_code = category
        item.settlement.trade_tax.rate_applicable_percent = Decimal(line.tax_rate)
        item.settlement.monetary_summation.total_amount = _amount(line.net)
        doc.trade.items.add(item)
        sums = breakdown[(category, line.tax_rate)]
        sums[0] += _amount(line.net)
        sums[1] += _amount(line.tax)
    for (category, rate), (basis, tax) in sorted(breakdown.items()):
        trade_tax = ApplicableTradeTax()
        trade_tax.type_code = "VAT"
        trade_tax.category_code = category
        trade_tax.basis_amount = basis
        trade_tax.calculated_amount = tax
        trade_tax.rate_applicable_percent = Decimal(rate)
        if category == "O":
            trade_tax.exemption_reason = "Nicht steuerbar nach § 2b Abs. 3 UStG"
            trade_tax.exemption_reason_code = "VATEX-EU-O"
        doc.trade.settlement.trade_tax.add(trade_tax)
    totals = doc.trade.settlement.monetary_summation
    totals.line_total = _amount(settlement.totals.net)
    totals.charge_total = Decimal("0.00")
    totals.allowance_total = Decimal("0.00")
    totals.tax_basis_total = _amount(settlement.totals.net)
    totals.tax_total = (_amount(settlement.totals.tax), "EUR")
    totals.grand_total = _amount(settlement.totals.gross)
    totals.due_amount = _amount(settlement.totals.gross)
    xml: bytes = doc.serialize(schema=CII_SCHEMA)
    return xml
