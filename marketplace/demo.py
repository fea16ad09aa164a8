"""Demonstration data: the cooperative office and the members named in the press release, one user per role.

Loading is idempotent: a second run finds what exists and only issues fresh demonstration tokens (the previous
ones are revoked, since a token can be shown only once).
"""

from __future__ import annotations

import msgspec

from marketplace.auth import Actor, Role
from marketplace.errors import Conflict
from marketplace.members import services
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
