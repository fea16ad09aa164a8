"""Typed errors of the ledger. Each knows its HTTP status, so that the application maps them in one place."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    http_status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidEntry(LedgerError):
    """The entry (or its amounts, tags, links, metadata, text) is malformed or Beancount refuses it."""

    http_status = 422


class UnbalancedEntry(InvalidEntry):
    """The postings do not sum to zero in every currency."""


class InvalidAccount(LedgerError):
    """An account name that Beancount or the account scheme refuses."""

    http_status = 422


class UnknownAccount(LedgerError):
    """A posting names an account that was never opened."""

    http_status = 422


class AccountClosed(LedgerError):
    """The account is closed at the entry's date, or cannot be closed or reopened as asked."""

    http_status = 409


class IdempotencyConflict(LedgerError):
    """The idempotency key is already used by an entry with different content."""

    http_status = 409


class AlreadyReversed(LedgerError):
    """The entry has been reversed already."""

    http_status = 409


class PeriodClosed(LedgerError):
    """The entry's date falls into (or before) a closed period."""

    http_status = 409


class BalanceAsserted(LedgerError):
    """The entry is dated before a recorded balance assertion of one of its accounts, which it would break."""

    http_status = 409


class EntryNotFound(LedgerError):
    """No entry with that id."""

    http_status = 404


class ExportError(LedgerError):
    """Beancount refused the exported files, or a closed period no longer matches its frozen hash."""

    http_status = 500
