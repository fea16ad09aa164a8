"""A double-entry clearing ledger kept in the database and exported as Beancount.

The public API: open and close accounts, post and reverse entries, read balances and statements, close
periods, verify the hash chain, export Beancount files. Errors are ``LedgerError`` subclasses carrying an
``http_status``. This package never imports the application.
"""

from __future__ import annotations

from ledger.accounts import (
    CLEARING,
    FEES,
    STANDARD_ACCOUNTS,
    UNALLOCATED,
    close_account,
    close_member_accounts,
    get_account,
    list_accounts,
    member_accounts,
    open_account,
    open_member_accounts,
    open_standard_accounts,
    payable,
    receivable,
)
from ledger.assertions import AssertionCheck, RecordedBalance, assert_balance, recorded_assertions
from ledger.balances import account_balance, balances, balances_at_each, member_balance, member_entries, statement
from ledger.errors import (
    AccountClosed,
    AlreadyReversed,
    BalanceAsserted,
    EntryNotFound,
    ExportError,
    IdempotencyConflict,
    InvalidAccount,
    InvalidEntry,
    LedgerError,
    PeriodClosed,
    UnbalancedEntry,
    UnknownAccount,
)
from ledger.export import ExportResult, export
from ledger.journal import NewEntry, get_entry, get_entry_by_key, post, post_many, reverse
from ledger.lookup import get_entries
from ledger.models import (
    Account,
    Balance,
    ClosedPeriod,
    Entry,
    Leg,
    MemberBalance,
    Posting,
    Statement,
    StatementLine,
    VerifyReport,
)
from ledger.periods import close_period, closed_periods, get_closed_period
from ledger.verify import verify

__all__ = [
    "CLEARING",
    "FEES",
    "STANDARD_ACCOUNTS",
    "UNALLOCATED",
    "Account",
    "AccountClosed",
    "AlreadyReversed",
    "AssertionCheck",
    "Balance",
    "BalanceAsserted",
    "ClosedPeriod",
    "Entry",
    "EntryNotFound",
    "ExportError",
    "ExportResult",
    "IdempotencyConflict",
    "InvalidAccount",
    "InvalidEntry",
    "LedgerError",
    "Leg",
    "MemberBalance",
    "NewEntry",
    "PeriodClosed",
    "Posting",
    "RecordedBalance",
    "Statement",
    "StatementLine",
    "UnbalancedEntry",
    "UnknownAccount",
    "VerifyReport",
    "account_balance",
    "assert_balance",
    "balances",
    "balances_at_each",
    "close_account",
    "close_member_accounts",
    "close_period",
    "closed_periods",
    "export",
    "get_account",
    "get_closed_period",
    "get_entries",
    "get_entry",
    "get_entry_by_key",
    "list_accounts",
    "member_accounts",
    "member_balance",
    "member_entries",
    "open_account",
    "open_member_accounts",
    "open_standard_accounts",
    "payable",
    "post",
    "post_many",
    "receivable",
    "recorded_assertions",
    "reverse",
    "statement",
    "verify",
]
