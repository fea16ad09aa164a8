"""Piccolo configuration: the engine comes from ``DATABASE_URL`` (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppRegistry

from marketplace.config import DEFAULT_DATABASE_URL
from marketplace.db import engine_from_url

DB = engine_from_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)

APP_REGISTRY = AppRegistry(
    apps=[
        "marketplace.members.piccolo_app",
        "marketplace.audit.piccolo_app",
        "marketplace.catalogue.piccolo_app",
        "ledger.piccolo_app",
        "marketplace.idempotency.piccolo_app",
        "marketplace.events.piccolo_app",
        "marketplace.booking.piccolo_app",
        "marketplace.settlement.piccolo_app",
        "marketplace.reconciliation.piccolo_app",
    ]
)
