"""Piccolo app of the reconciliation context."""

import os

from piccolo.conf.apps import AppConfig, table_finder

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="reconciliation",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=table_finder(modules=["marketplace.reconciliation.tables"], exclude_imported=True),
    migration_dependencies=[
        "marketplace.members.piccolo_app",
        "ledger.piccolo_app",
        "marketplace.settlement.piccolo_app",
    ],
    commands=[],
)
