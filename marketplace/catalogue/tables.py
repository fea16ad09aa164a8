"""Tables of the catalogue context. The DDL, with its checks, triggers and search indexes, is in ``piccolo_migrations``.

``offers.search_title`` and ``offers.search_words`` hold the title and the text after German normalisation
(``search.py``); the engines index those columns (FTS5 on SQLite, a ``tsvector`` with a GIN index on PostgreSQL).
"""

from __future__ import annotations

from enum import Enum

from piccolo.columns import UUID, BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from marketplace.members.tables import Member


class Category(Table, tablename="categories"):
    """A kind of service (hosting, consulting, …) with German and English labels."""

    code = Varchar(length=40, primary_key=True)
    label_de = Varchar(length=100, null=False)
    label_en = Varchar(length=100, null=False)
    created_at = Timestamptz(null=False)


class Offer(Table, tablename="offers"):
    """A service a provider member offers; its commercial terms live in ``OfferVersion`` rows."""

    class Status(str, Enum):
        draft = "draft"
        published = "published"
        paused = "paused"
        retired = "retired"

    id = UUID(primary_key=True)
    provider = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    category = Varchar(length=40, null=False)
    title = Varchar(length=200, null=False)
    description = Text(null=False)
    status = Varchar(length=16, choices=Status, default=Status.draft, null=False)
    #: The id of the current ``OfferVersion`` (a foreign key in the DDL; plain here, the tables refer to each other).
    current_version = UUID(null=True, default=None)
    version = Integer(default=1, null=False)
    search_title = Text(null=False, default="")
    search_words = Text(null=False, default="")
    created_at = Timestamptz(null=False)
    updated_at = Timestamptz(null=False)
    published_at = Timestamptz(null=True, default=None)


class OfferVersion(Table, tablename="offer_versions"):
    """An immutable snapshot of an offer's commercial terms (amendable only while the offer is a draft)."""

    class Pricing(str, Enum):
        recurring = "recurring"
        one_off = "one_off"
        metered = "metered"

    class TaxTreatment(str, Enum):
        exempt_public_cooperation = "exempt_public_cooperation"
        vat_19 = "vat_19"
        vat_7 = "vat_7"

    id = UUID(primary_key=True)
    offer = ForeignKey(Offer, null=False, on_delete=OnDelete.restrict)
    number = Integer(null=False)
    unit = Varchar(length=60, null=False)
    unit_price_cents = BigInt(null=False)
    pricing = Varchar(length=16, choices=Pricing, null=False)
    capacity = Integer(null=True, default=None)
    min_term_months = Integer(default=0, null=False)
    notice_months = Integer(default=0, null=False)
    tax_treatment = Varchar(length=32, choices=TaxTreatment, null=False)
    sla = Text(null=True, default=None)
    created_at = Timestamptz(null=False)
