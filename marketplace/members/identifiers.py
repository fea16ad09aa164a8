"""Identifiers of public bodies: Leitweg-ID (XRechnung routing), IBAN and BIC, with their check digits."""

from __future__ import annotations

import re

# Grobadressierung (2-12 digits), optional Feinadressierung (1-30 letters or digits), Prüfziffer (2 digits).
_LEITWEG = re.compile(r"^(?P<coarse>[0-9]{2,12})(?:-(?P<fine>[A-Z0-9]{1,30}))?-(?P<check>[0-9]{2})$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_IBAN_LENGTHS = {"DE": 22, "AT": 20, "FR": 27, "NL": 18, "BE": 16, "LU": 20, "CH": 21, "IT": 27, "ES": 24}


def _mod97(text: str) -> int:
    # ISO 7064 MOD 97-10: letters count as 10..35, the whole number is taken modulo 97.
    return int("".join(str(int(char, 36)) for char in text)) % 97


def leitweg_id_error(value: str) -> str | None:
    """Why ``value`` is not a valid Leitweg-ID (format and ISO 7064 check digits), or None when it is."""
    match = _LEITWEG.match(value)
    if match is None:
        return (
            "a Leitweg-ID has the form Grobadressierung-Feinadressierung-Prüfziffer, "
            "e.g. 04011000-1234512345-06 (digits, optional letters or digits, two check digits)"
        )
    if _mod97(value.replace("-", "")) != 1:
        expected = 98 - _mod97(f"{match['coarse']}{match['fine'] or ''}00")
        return f"the check digits of this Leitweg-ID should be {expected:02d}"
    return None


def normalise_leitweg_id(value: str) -> str:
    """Upper-case and trim a Leitweg-ID as entered."""
    return value.strip().upper()


def normalise_iban(value: str) -> str:
    """An IBAN without spaces, upper case."""
    return re.sub(r"\s+", "", value).upper()


def iban_error(value: str) -> str | None:
    """Why ``value`` (normalised) is not a valid IBAN, or None when it is."""
    if not _IBAN.match(value):
        return "an IBAN is a country code, two check digits and up to 30 letters or digits"
    expected_length = _IBAN_LENGTHS.get(value[:2])
    if expected_length is not None and len(value) != expected_length:
        return f"an IBAN from {value[:2]} has {expected_length} characters"
    if _mod97(value[4:] + value[:4]) != 1:
        return "the check digits of this IBAN do not match"
    return None


def bic_error(value: str) -> str | None:
    """Why ``value`` is not a valid BIC (8 or 11 characters), or None when it is."""
    return None if _BIC.match(value) else "a BIC has 8 or 11 letters and digits, e.g. HELADEFFXXX"
