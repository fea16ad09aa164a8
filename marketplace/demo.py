"""Demonstration data: the cooperative office and the members named in the press release, one user per role.

Loading is idempotent: a second run finds what exists and only issues fresh demonstration tokens (the previous
ones are revoked, since a token can be shown only once).
"""

from __future__ import annotations

import secrets

import msgspec

from marketplace.auth import Actor, Role
from marketplace.errors import Conflict
from marketplace.members import passwords, services
from marketplace.members.schemas import MemberCreate
from marketplace.members.tables import Member

DEMO_ACTOR = Actor(label="demo")
DEMO_TOKEN_NAME = "demo"  # noqa: S105 - the name tokens are listed under

MEMBERS = [
    MemberCreate(
        code="KOPIT",
        name="KOPIT eG – Kooperation der öffentlichen IT",
        kind="cooperative",
        state="DE-HE",
        leitweg_id="06412000-KOPIT-68",
        contact_email="geschaeftsstelle@kopit-eg.example",
        iban="DE02500105170137075030",
        bic="INGDDEFFXXX",
        account_holder="KOPIT eG Verrechnungskonto",
    ),
    MemberCreate(
        code="HZD",
        name="Hessische Zentrale für Datenverarbeitung",
        kind="state_agency",
        state="DE-HE",
        leitweg_id="06411000-HZD01-43",
        contact_email="poststelle@hzd.example",
        iban="DE12500105170648489890",
        bic="INGDDEFFXXX",
        account_holder="Hessische Zentrale für Datenverarbeitung",
    ),
    MemberCreate(
        code="EKOM21",
        name="ekom21 – KGRZ Hessen",
        kind="municipal_it_provider",
        state="DE-HE",
        leitweg_id="064120000000-EKOM21-11",
        contact_email="info@ekom21.example",
    ),
    MemberCreate(
        code="GU-FFM",
        name="Goethe-Universität Frankfurt am Main",
        kind="university",
        state="DE-HE",
        leitweg_id="06412000-GUFFM-96",
        contact_email="hrz@uni-frankfurt.example",
    ),
    MemberCreate(
        code="KDZ-MZ",
        name="Kommunale Datenzentrale Mainz (Stadt Mainz)",
        kind="municipal_it_provider",
        state="DE-RP",
        leitweg_id="07315000-KDZMZ-61",
        contact_email="kdz@stadt.mainz.example",
    ),
]

#: One demonstration user per role: (role, member, e-mail, name).
USERS = [
    (Role.coop_admin, "KOPIT", "geschaeftsstelle@kopit-eg.example", "Sabine Keller (Geschäftsstelle)"),
    (Role.coop_accountant, "KOPIT", "buchhaltung@kopit-eg.example", "Thomas Becker (Buchhaltung)"),
    (Role.auditor, "KOPIT", "pruefung@kopit-eg.example", "Dr. Anna Roth (Prüfung)"),
    (Role.member_admin, "HZD", "admin@hzd.example", "Michael Wagner (HZD, Verwaltung)"),
    (Role.buyer, "HZD", "einkauf@hzd.example", "Julia Schmitt (HZD, Einkauf)"),
    (Role.accountant, "HZD", "rechnungswesen@hzd.example", "Peter Hofmann (HZD, Rechnungswesen)"),
    (Role.provider, "KDZ-MZ", "angebote@kdz-mainz.example", "Claudia Fischer (KDZ Mainz, Angebote)"),
]


class DemoSignIn(msgspec.Struct):
    """A demonstration user's sign-in for the web pages."""

    role: Role
    member: str
    email: str
    password: str


def demo_password() -> str:
    """A fresh password in the style of ``Demo-2026!``: easy to type, new on every run."""
    return f"Demo-{secrets.randbelow(1_000_000):06d}!"


class DemoToken(msgspec.Struct):
    """A demonstration user's fresh token."""

    role: Role
    member: str
    email: str
    token: str


async def load_members() -> int:
    """Admit the demonstration members that do not exist yet; the number admitted."""
    admitted = 0
    for data in MEMBERS:
        if await Member.exists().where(Member.code == data.code):
            continue
        try:
            await services.admit_member(data, DEMO_ACTOR)
        except Conflict:
            continue  # another process loaded it at the same moment
        admitted += 1
    return admitted


async def issue_demo_tokens() -> list[DemoToken]:
    """Make sure each demonstration user exists and give it a new token, revoking its previous one."""
    tokens = []
    for role, member, email, name in USERS:
        user = await services.ensure_user(member, frozenset({role}), DEMO_ACTOR, email=email, name=name)
        await services.revoke_tokens_named(user["id"], DEMO_TOKEN_NAME, DEMO_ACTOR)
        created = await services.issue_token(member, frozenset({role}), DEMO_ACTOR, name=DEMO_TOKEN_NAME, email=email)
        tokens.append(DemoToken(role=role, member=member, email=email, token=created.token))
    return tokens


async def set_demo_passwords() -> list[DemoSignIn]:
    """Give each demonstration user a new password (ending its web sessions) and answer them."""
    sign_ins = []
    for role, member, email, name in USERS:
        user = await services.ensure_user(member, frozenset({role}), DEMO_ACTOR, email=email, name=name)
        password = demo_password()
        await passwords.set_password(user["id"], password, DEMO_ACTOR)
        sign_ins.append(DemoSignIn(role=role, member=member, email=email, password=password))
    return sign_ins


# --- the demonstration catalogue ------------------------------------------------------------------------

#: (provider, title, description, category, unit, unit price, pricing, capacity, min term, notice, tax, SLA)
CATALOGUE: list[tuple[str, str, str, str, str, str, str, int | None, int, int, str, str | None]] = [
    (
        "KDZ-MZ",
        "Rechenzentrums-Hosting: virtuelle Server",
        "Virtuelle Server (2 vCPU, 8 GB RAM, 100 GB SSD) im kommunalen Rechenzentrum Mainz, betrieben nach "
        "BSI IT-Grundschutz, mit Patch-Management für Betriebssystem und Virenschutz. Weitere Ressourcen auf Anfrage.",
        "hosting",
        "VM-Monat",
        "89.00",
        "recurring",
        400,
        12,
        3,
        "exempt_public_cooperation",
        "Verfügbarkeit 99,5 % im Monatsmittel; Servicezeit Mo–Fr 7–18 Uhr; Störungsannahme rund um die Uhr.",
    ),
    (
        "KDZ-MZ",
        "Datensicherung (Backup) in zwei Brandabschnitten",
        "Tägliche Sicherung Ihrer Server und Fachverfahrensdaten mit 30 Tagen Aufbewahrung, gespiegelt in einen "
        "zweiten Brandabschnitt. Wiederherstellung einzelner Dateien über das Service-Portal.",
        "hosting",
        "TB-Monat",
        "24.50",
        "recurring",
        800,
        12,
        3,
        "exempt_public_cooperation",
        "Wiederherstellung beginnt innerhalb von 4 Stunden in der Servicezeit.",
    ),
    (
        "KDZ-MZ",
        "Housing im Rechenzentrum Mainz",
        "Stellfläche für Ihre eigene Hardware in klimatisierten, zutrittsgeschützten Racks mit redundanter "
        "Stromversorgung (USV und Netzersatzanlage) und Anbindung an das Rheinland-Pfalz-Netz.",
        "hosting",
        "Höheneinheit-Monat",
        "18.00",
        "recurring",
        420,
        24,
        6,
        "exempt_public_cooperation",
        "Zutritt nach Anmeldung werktags 7–18 Uhr; Stromverfügbarkeit 99,9 %.",
    ),
    (
        "KDZ-MZ",
        "Georedundante Archivspeicherung",
        "Revisionssichere Langzeitarchivierung (WORM) für E-Akte und Fachverfahren in zwei Rechenzentren, "
        "Aufbewahrungsfristen nach Vorgabe der Dienststelle.",
        "hosting",
        "TB-Monat",
        "11.90",
        "recurring",
        None,
        12,
        3,
        "exempt_public_cooperation",
        None,
    ),
    (
        "KDZ-MZ",
        "Druck- und Kuvertierservice für Massenbescheide",
        "Druck, Kuvertierung und Übergabe an den Postdienstleister für Steuer-, Gebühren- und Abfallbescheide, "
        "angeliefert als PDF oder Druckdatenstrom.",
        "application_operation",
        "Druckseite",
        "0.09",
        "metered",
        None,
        0,
        1,
        "vat_19",
        "Versand am Werktag nach Anlieferung bis 12 Uhr.",
    ),
    (
        "HZD",
        "Lizenzmanagement für Microsoft-Volumenlizenzen",
        "Bestandsführung, Zuweisung und jährliche Abstimmung Ihrer Microsoft-Lizenzen im Landesrahmenvertrag, "
        "inklusive Nutzungsauswertung und Optimierungsvorschlägen.",
        "licence_management",
        "Lizenz-Jahr",
        "14.00",
        "one_off",
        20000,
        12,
        3,
        "exempt_public_cooperation",
        "Auswertung zum Quartalsende; Anfragen werden innerhalb von 3 Werktagen beantwortet.",
    ),
    (
        "HZD",
        "Software-Asset-Management: Lizenzaudit",
        "Prüfung Ihrer Softwarelizenzen gegen Verträge und Installationen, Bericht mit Risiken einer "
        "Herstellerprüfung und Maßnahmen. Durchgeführt von zertifizierten SAM-Beraterinnen und -Beratern.",
        "licence_management",
        "Beratungstag",
        "1190.00",
        "metered",
        60,
        0,
        0,
        "exempt_public_cooperation",
        None,
    ),
    (
        "HZD",
        "Cloud-Beratung: Einführung von Cloud-Diensten",
        "Beratung zu Cloud-Strategie, Datenschutz-Folgenabschätzung, C5-Testaten und Exit-Strategien für "
        "Behörden; Workshops vor Ort oder per Videokonferenz.",
        "consulting",
        "Beratungstag",
        "1150.00",
        "metered",
        80,
        0,
        0,
        "exempt_public_cooperation",
        None,
    ),
    (
        "HZD",
        "Private Cloud: Container-Plattform",
        "Kubernetes-Namespaces auf der Landes-Cloud mit Registry, Monitoring und Log-Management; "
        "Betrieb in Rechenzentren des Landes Hessen.",
        "cloud",
        "Namespace-Monat",
        "240.00",
        "recurring",
        60,
        6,
        3,
        "exempt_public_cooperation",
        "Verfügbarkeit 99,8 % im Monatsmittel; Störungsannahme rund um die Uhr.",
    ),
    (
        "HZD",
        "Beschaffungsunterstützung für gemeinsame Ausschreibungen",
        "Begleitung gemeinsamer Vergabeverfahren der Mitglieder: Bedarfsbündelung, Leistungsbeschreibung, "
        "Wertung und Zuschlag nach GWB und UVgO.",
        "procurement_support",
        "Beratungstag",
        "980.00",
        "metered",
        40,
        0,
        0,
        "exempt_public_cooperation",
        None,
    ),
    (
        "EKOM21",
        "Fachverfahrensbetrieb Einwohnermeldewesen",
        "Betrieb des Einwohnermeldeverfahrens für Ihre Meldebehörde mit XMeld-Anbindung, Updates, "
        "Datensicherung und Anwenderbetreuung.",
        "application_operation",
        "Mandant-Monat",
        "1450.00",
        "recurring",
        120,
        24,
        6,
        "exempt_public_cooperation",
        "Verfügbarkeit 99,5 % zu den Öffnungszeiten der Bürgerbüros; Hotline Mo–Fr 7:30–16:30 Uhr.",
    ),
    (
        "EKOM21",
        "Fachverfahrensbetrieb Finanzwesen (Doppik)",
        "Betrieb der kommunalen Finanzsoftware für Haushalt, Kasse und Anlagenbuchhaltung, inklusive "
        "Jahresabschlussunterstützung.",
        "application_operation",
        "Arbeitsplatz-Monat",
        "38.00",
        "recurring",
        5000,
        12,
        6,
        "exempt_public_cooperation",
        "Verfügbarkeit 99,5 % im Monatsmittel.",
    ),
    (
        "EKOM21",
        "Betrieb E-Akte (Dokumentenmanagement)",
        "Elektronische Akte nach DOMEA-Konzept als Mandant in der ekom21-Plattform, mit Scan-Anbindung und "
        "Schnittstellen zu den Fachverfahren.",
        "application_operation",
        "Arbeitsplatz-Monat",
        "19.50",
        "recurring",
        8000,
        12,
        3,
        "exempt_public_cooperation",
        "Verfügbarkeit 99,5 % im Monatsmittel.",
    ),
    (
        "EKOM21",
        "Schulungen zur E-Akte für Sachbearbeitung",
        "Eintägige Schulungen für Anwenderinnen und Anwender der E-Akte: Ablage, Vorgangsbearbeitung, "
        "Mitzeichnung. In Gießen, Darmstadt, Kassel oder online.",
        "training",
        "Teilnehmertag",
        "390.00",
        "one_off",
        240,
        0,
        0,
        "exempt_public_cooperation",
        None,
    ),
    (
        "EKOM21",
        "Informationssicherheit: externer Informationssicherheitsbeauftragter",
        "Übernahme der Rolle des Informationssicherheitsbeauftragten für Kommunen, mit Sicherheitskonzept nach "
        "BSI-Standard 200-2 und jährlichem Bericht an die Verwaltungsleitung.",
        "security",
        "Kommune-Monat",
        "620.00",
        "recurring",
        50,
        12,
        3,
        "exempt_public_cooperation",
        "Erreichbarkeit bei Sicherheitsvorfällen werktags innerhalb von 2 Stunden.",
    ),
    (
        "GU-FFM",
        "Forschungsrechnen auf dem Hochleistungsrechner",
        "Rechenzeit auf dem Hochleistungsrechner des Zentrums für Wissenschaftliches Rechnen, abgerechnet nach "
        "genutzten Kernstunden, mit Zugang zum parallelen Dateisystem.",
        "cloud",
        "Kernstunde",
        "0.04",
        "metered",
        None,
        0,
        0,
        "exempt_public_cooperation",
        "Bestmöglicher Betrieb; Wartungsfenster am ersten Dienstag im Monat.",
    ),
    (
        "GU-FFM",
        "GPU-Rechenzeit für KI-Anwendungen",
        "Rechenzeit auf GPU-Knoten für das Training und den Betrieb von Sprach- und Bildmodellen in Forschung "
        "und Verwaltung.",
        "cloud",
        "GPU-Stunde",
        "1.80",
        "metered",
        None,
        0,
        0,
        "exempt_public_cooperation",
        None,
    ),
    (
        "GU-FFM",
        "Schulungen: Linux und Hochleistungsrechnen für Einsteiger",
        "Zweitägige Schulung mit Übungen auf dem Hochleistungsrechner: Linux-Kommandozeile, Batch-Systeme, "
        "paralleles Rechnen.",
        "training",
        "Teilnehmertag",
        "250.00",
        "one_off",
        60,
        0,
        0,
        "exempt_public_cooperation",
        None,
    ),
    (
        "GU-FFM",
        "Schulung Informationssicherheit für Beschäftigte",
        "Sensibilisierung für Phishing, sichere Passwörter und den Umgang mit personenbezogenen Daten; "
        "halbtägig, online oder vor Ort.",
        "training",
        "Teilnehmer",
        "95.00",
        "one_off",
        500,
        0,
        0,
        "exempt_public_cooperation",
        None,
    ),
    (
        "GU-FFM",
        "Gedruckte Schulungsunterlagen",
        "Gebundene Handbücher zu den Schulungen des Hochschulrechenzentrums, je Teilnehmerin oder Teilnehmer.",
        "training",
        "Exemplar",
        "18.00",
        "one_off",
        None,
        0,
        0,
        "vat_7",
        None,
    ),
]


async def load_catalogue() -> int:
    """Create and publish the demonstration offers that do not exist yet (by provider and title); the number."""
    from decimal import Decimal

    from marketplace.catalogue import services as catalogue
    from marketplace.catalogue.schemas import OfferCreate

    await catalogue.ensure_default_categories()
    published = 0
    for provider, title, description, category, unit, price, pricing, capacity, term, notice, tax, sla in CATALOGUE:
        if await catalogue.offer_exists(provider, title):
            continue
        row = await Member.select(Member.id).where(Member.code == provider).first()
        assert row is not None
        data = OfferCreate(
            title=title,
            description=description,
            category=category,
            unit=unit,
            unit_price=Decimal(price),
            pricing=pricing,
            capacity=capacity,
            min_term_months=term,
            notice_months=notice,
            tax_treatment=tax,
            sla=sla,
        )
        offer = await catalogue.create_offer(data, row["id"], DEMO_ACTOR)
        await catalogue.change_offer_status(offer.id, "publish", row["id"], DEMO_ACTOR, reason=None, if_match=None)
        published += 1
    return published
