"""Tables of the members context. The DDL, with its checks and indexes, is in ``piccolo_migrations``."""

from __future__ import annotations

from enum import Enum

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Member(Table, tablename="members"):
    """A public body in the cooperative (the cooperative office is one too, of kind ``cooperative``)."""

    class Kind(str, Enum):
        state_agency = "state_agency"
        municipal_it_provider = "municipal_it_provider"
        municipality = "municipality"
        university = "university"
        cooperative = "cooperative"
        other_public_body = "other_public_body"

    class Status(str, Enum):
        active = "active"
        suspended = "suspended"
        departed = "departed"

    id = UUID(primary_key=True)
    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=200, null=False)
    kind = Varchar(length=32, choices=Kind, null=False)
    state = Varchar(length=5, null=False)
    leitweg_id = Varchar(length=46, null=True, default=None)
    contact_email = Varchar(length=254, null=True, default=None)
    #: The confirmed IBAN: the one bank lines are matched by and payouts go to.
    iban = Varchar(length=34, null=True, default=None)
    bic = Varchar(length=11, null=True, default=None)
    account_holder = Varchar(length=70, null=True, default=None)
    #: A member's own change of IBAN, waiting for the cooperative's confirmation; who proposed it and when.
    pending_iban = Varchar(length=34, null=True, default=None)
    pending_iban_by = Varchar(length=254, null=True, default=None)
    pending_iban_at = Timestamptz(null=True, default=None)
    status = Varchar(length=16, choices=Status, default=Status.active, null=False)
    version = Integer(default=1, null=False)
    admitted_at = Timestamptz(null=False)
    updated_at = Timestamptz(null=False)
    left_at = Timestamptz(null=True, default=None)


class User(Table, tablename="users"):
    """A person (or system) acting for exactly one member, with one or more roles."""

    id = UUID(primary_key=True)
    member = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    email = Varchar(length=254, unique=True, null=False)
    name = Varchar(length=200, null=False)
    roles = Varchar(length=200, null=False)
    active = Boolean(default=True, null=False)
    created_at = Timestamptz(null=False)
    #: ``scrypt$…`` (see ``members.passwords``); none until a password link is used.
    password_hash = Varchar(length=255, null=True, default=None)
    password_changed_at = Timestamptz(null=True, default=None)


class ApiToken(Table, tablename="api_tokens"):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    id = UUID(primary_key=True)
    owner = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    name = Varchar(length=100, null=False)
    token_hash = Varchar(length=64, unique=True, null=False)
    prefix = Varchar(length=12, null=False)
    created_at = Timestamptz(null=False)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)


class PasswordLink(Table, tablename="password_links"):
    """A one-time link that sets a user's password; only the SHA-256 of its token is stored."""

    id = UUID(primary_key=True)
    owner = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    token_hash = Varchar(length=64, unique=True, null=False)
    created_by = Varchar(length=254, null=False)
    created_at = Timestamptz(null=False)
    expires_at = Timestamptz(null=False)
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class EndedWebSession(Table, tablename="ended_web_sessions"):
    """A web session signed out before its cookie expired; a replayed copy of the cookie is refused."""

    session_id = UUID(primary_key=True)
    owner = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    ended_at = Timestamptz(null=False)
    expires_at = Timestamptz(null=False)


class SignInDelay(Table, tablename="sign_in_delays"):
    """Failed sign-ins of one account or one client address, and when the next attempt may come."""

    #: ``account:`` and the SHA-256 of the e-mail address, or ``address:`` and the client's address (IPv6: its /64).
    subject = Varchar(length=80, primary_key=True)
    #: Attempts since the last success that failed, or are being checked right now.
    failures = Integer(null=False)
    next_attempt_at = Timestamptz(null=False)
    last_attempt_at = Timestamptz(null=False)
