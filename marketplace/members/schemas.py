"""What the members API reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from marketplace.auth import Role
from marketplace.periods import Moment, check_moment
from marketplace.text import END, SEPA_NAME, SEPA_NAME_LENGTH, multi_line, single_line

MemberCode = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Z][A-Z0-9-]{0,31}" + END,
        description="Upper-case letters, digits and hyphens, starting with a letter (e.g. KDZ-MZ).",
        examples=["KDZ-MZ"],
    ),
]
Name = Annotated[str, single_line(200)]
_EMAIL = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=f"^{_EMAIL}{END}")]
LeitwegId = Annotated[str, single_line(46, blank=True, examples=["04011000-1234512345-06"])]
Iban = Annotated[str, single_line(42, blank=True, examples=["DE02120300000000202051"])]
Bic = Annotated[str, single_line(11, blank=True, examples=["BYLADEM1001"])]
AccountHolder = Annotated[
    str,
    msgspec.Meta(
        max_length=SEPA_NAME_LENGTH,
        pattern=SEPA_NAME,
        description=(
            "The name on the account as the SEPA payment file carries it: Latin letters, digits, space and "
            "/ - ? : ( ) . , ' + (umlauts and ß are written as ae, oe, ue, ss), at most 70 characters."
        ),
        examples=["KOPIT eG Verrechnungskonto"],
    ),
]
TokenName = Annotated[str, single_line(100)]
Reason = Annotated[str, multi_line(1000)]


Kind = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(state_agency|municipal_it_provider|municipality|university|cooperative|other_public_body)" + END
    ),
]
FederalState = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^DE-(BW|BY|BE|BB|HB|HH|HE|MV|NI|NW|RP|SL|SN|ST|SH|TH)" + END,
        description="ISO 3166-2 code of the federal state (Bundesland), e.g. DE-HE for Hessen.",
    ),
]


class MemberCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Admit a public body to the cooperative."""

    code: MemberCode
    name: Name
    kind: Kind
    state: FederalState
    leitweg_id: LeitwegId | None = None
    contact_email: Email | None = None
    iban: Iban | None = None
    bic: Bic | None = None
    account_holder: AccountHolder | None = None


class MemberUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Change a member's profile; a field left out or null stays as it is, an empty string clears it."""

    name: Name | None = None
    state: FederalState | None = None
    leitweg_id: LeitwegId | None = None
    contact_email: Annotated[str, msgspec.Meta(max_length=254, pattern=f"^({_EMAIL})?{END}")] | None = None
    iban: Iban | None = None
    bic: Bic | None = None
    account_holder: AccountHolder | None = None


class Member(msgspec.Struct, kw_only=True):
    """A member as the directory shows it; bank details only to the member itself and the cooperative.

    ``iban`` is the confirmed IBAN (payments are matched by it, payouts go to it); ``pending_iban`` a change the
    member's admin proposed, with who proposed it and when, until the cooperative's admin confirms it.
    """

    id: UUID
    code: str
    name: str
    kind: str
    state: str
    leitweg_id: str | None
    contact_email: str | None
    status: str
    version: int
    admitted_at: datetime
    left_at: datetime | None
    iban: str | None = None
    bic: str | None = None
    account_holder: str | None = None
    pending_iban: str | None = None
    pending_iban_by: str | None = None
    pending_iban_at: datetime | None = None


class BankDetailsConfirm(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Confirm the IBAN a member's admin proposed: ``iban`` repeats it, as the cooperative checked it."""

    iban: Iban


class MemberPage(msgspec.Struct):
    """One page of the member directory."""

    items: list[Member]
    next_cursor: str | None


class StatusChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Why a member is suspended, reinstated or leaves."""

    reason: Reason | None = None


class UserCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new user of a member."""

    email: Email
    name: Name
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=7)]


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Change a user: a field left out or null stays as it is."""

    name: Name | None = None
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=7)] | None = None
    active: bool | None = None


class User(msgspec.Struct, kw_only=True):
    """A user of a member."""

    id: UUID
    member: str
    email: str
    name: str
    roles: list[Role]
    active: bool
    created_at: datetime


class UserPage(msgspec.Struct):
    """One page of a member's users."""

    items: list[User]
    next_cursor: str | None


class TokenCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new API token for a user."""

    name: TokenName
    expires_at: Moment | None = None

    def __post_init__(self) -> None:
        check_moment(self.expires_at, "expires_at")


class Token(msgspec.Struct, kw_only=True):
    """An API token without its secret."""

    id: UUID
    user_id: UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(Token, kw_only=True):
    """A token just made: the only answer that ever carries the token itself."""

    token: str


class TokenPage(msgspec.Struct):
    """One page of a user's tokens."""

    items: list[Token]
    next_cursor: str | None


class PasswordLink(msgspec.Struct, kw_only=True):
    """A one-time link that lets a user set a password for the web pages; shown only in this answer."""

    user_id: UUID
    email: str
    url: str
    path: str
    expires_at: datetime


class Me(msgspec.Struct, kw_only=True):
    """The caller."""

    user: User
    member: Member
    roles: list[Role]
