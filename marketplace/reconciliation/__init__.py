"""Reconciliation: bank statement import, matching of payments and payouts to settlements, open items."""
