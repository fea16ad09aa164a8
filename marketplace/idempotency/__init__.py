"""Idempotency keys: a creating POST sent twice with the same key gives the first answer, once."""
