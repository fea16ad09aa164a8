"""Piccolo app of the settlement context."""

import os

from piccolo.conf.apps import AppConfig, table_finder

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="settlement",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=table_finder(modules=["marketplace.settlement.tables"], exclude_imported=True),
    migration_dependencies=["marketplace.members.piccolo_app", "marketplace.booking.piccolo_app", "ledger.piccolo_app"],
    commands=[],
)
