"""German forms of dates, amounts and states for the templates (registered as Jinja filters)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from marketplace.clock import LOCAL_ZONE

STATUS_LABELS = {
    # offers
    "draft": "Entwurf",
    "published": "Veröffentlicht",
    "paused": "Pausiert",
    "retired": "Eingestellt",
    # requests
    "submitted": "Eingereicht",
    "accepted": "Angenommen",
    "declined": "Abgelehnt",
    "withdrawn": "Zurückgezogen",
    "expired": "Abgelaufen",
    # agreements
    "active": "Aktiv",
    "terminated": "Gekündigt",
    # members
    "suspended": "Gesperrt",
    "departed": "Ausgetreten",
    # payments of a settlement
    "open": "Offen",
    "partially_paid": "Teilweise bezahlt",
    "paid": "Bezahlt",
}
PRICING_LABELS = {"recurring": "monatlich", "one_off": "einmalig", "metered": "nach Verbrauch"}
TAX_LABELS = {
    "exempt_public_cooperation": "nicht steuerbar (§ 2b Abs. 3 UStG)",
    "vat_19": "zzgl. 19 % USt.",
    "vat_7": "zzgl. 7 % USt.",
}
ROLE_LABELS = {
    "coop_admin": "Verwaltung der Genossenschaft",
    "coop_accountant": "Buchhaltung der Genossenschaft",
    "auditor": "Prüfung",
    "member_admin": "Verwaltung des Mitglieds",
    "provider": "Anbieter",
    "buyer": "Einkauf",
    "accountant": "Rechnungswesen",
}
KIND_LABELS = {
    "state_agency": "Landesbehörde",
    "municipal_it_provider": "Kommunaler IT-Dienstleister",
    "municipality": "Kommune",
    "university": "Hochschule",
    "cooperative": "Genossenschaft",
    "other_public_body": "Sonstige öffentliche Stelle",
}


def datum(value: dt.date | dt.datetime | str | None) -> str:
    """26.11.2026 (a timestamp in German local time); a dash for none."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.astimezone(LOCAL_ZONE).date()
    return value.strftime("%d.%m.%Y")


def datumzeit(value: dt.datetime | None) -> str:
    """26.11.2026, 14:05 Uhr in German local time."""
    if value is None:
        return "–"
    return value.astimezone(LOCAL_ZONE).strftime("%d.%m.%Y, %H:%M Uhr")


def zahl(value: Decimal | int | str, places: int = 2) -> str:
    """1.234,50: thousands with a dot, decimals with a comma."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{number:,.{places}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def betrag(value: Decimal | int | str | None) -> str:
    """1.234,50 € (a non-breaking space before the sign); a dash for none."""
    if value is None or value == "":
        return "–"
    return zahl(value) + "\u00a0€"


def label(value: Any, kind: str = "status") -> str:
    """The German label of a state, pricing model, tax treatment, role or member kind."""
    table = {
        "status": STATUS_LABELS,
        "pricing": PRICING_LABELS,
        "tax": TAX_LABELS,
        "role": ROLE_LABELS,
        "kind": KIND_LABELS,
    }[kind]
    return table.get(str(value), str(value))


def parse_amount(text: str) -> Decimal:
    """A euro amount as people type it: ``1.234,50``, ``1234,5`` or ``1234.50``."""
    cleaned = text.strip().replace("€", "").replace("\u00a0", "").replace(" ", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc


FILTERS = {"datum": datum, "datumzeit": datumzeit, "zahl": zahl, "betrag": betrag, "label": label}
