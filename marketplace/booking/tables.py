"""Tables of the booking context. The DDL, with its checks, indexes and the capacity trigger, is in the migrations."""

from __future__ import annotations

from enum import Enum

from piccolo.columns import UUID, BigInt, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from marketplace.catalogue.tables import Offer, OfferVersion
from marketplace.members.tables import Member, User


class ServiceRequest(Table, tablename="requests"):
    """A member's wish to book an offer, on the version current when it was made."""

    class Status(str, Enum):
        submitted = "submitted"
        accepted = "accepted"
        declined = "declined"
        withdrawn = "withdrawn"
        expired = "expired"

    id = UUID(primary_key=True)
    offer = ForeignKey(Offer, null=False, on_delete=OnDelete.restrict)
    offer_version = ForeignKey(OfferVersion, null=False, on_delete=OnDelete.restrict)
    consumer = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    provider = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    quantity = Integer(null=False)
    start_date = Date(null=False)
    end_date = Date(null=True, default=None)
    message = Text(null=True, default=None)
    status = Varchar(length=16, choices=Status, null=False)
    decline_reason = Text(null=True, default=None)
    requested_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)
    expires_at = Timestamptz(null=False)
    decided_at = Timestamptz(null=True, default=None)
    version = Integer(null=False, default=1)


class Agreement(Table, tablename="agreements"):
    """What an accepted request (or a letter from before the exchange) became."""

    class Status(str, Enum):
        active = "active"
        terminated = "terminated"
        expired = "expired"

    id = UUID(primary_key=True)
    reference = Varchar(length=20, unique=True, null=False)
    request = ForeignKey(ServiceRequest, null=True, default=None, on_delete=OnDelete.restrict)
    offer = ForeignKey(Offer, null=False, on_delete=OnDelete.restrict)
    offer_version = ForeignKey(OfferVersion, null=False, on_delete=OnDelete.restrict)
    provider = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    consumer = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    quantity = Integer(null=False)
    start_date = Date(null=False)
    end_date = Date(null=True, default=None)
    status = Varchar(length=16, choices=Status, null=False)
    imported = Boolean(null=False, default=False)
    created_at = Timestamptz(null=False)
    terminated_at = Timestamptz(null=True, default=None)
    version = Integer(null=False, default=1)


class AgreementNumber(Table, tablename="agreement_numbers"):
    """The last agreement number given out per year; incremented in the accepting transaction, so gapless."""

    year = Integer(primary_key=True)
    last_number = Integer(null=False)


class UsageReport(Table, tablename="usage_reports"):
    """Metered usage of one agreement in one month, in thousandths of a unit."""

    id = UUID(primary_key=True)
    agreement = ForeignKey(Agreement, null=False, on_delete=OnDelete.restrict)
    period = Varchar(length=7, null=False)
    quantity_milli = BigInt(null=False)
    reported_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    reported_at = Timestamptz(null=False)
    version = Integer(null=False, default=1)
