"""Free text at the edge: which characters a text field accepts, as msgspec types and as one check.

What members type travels far: into PDF and XRechnung documents, the SEPA payment file, the Beancount export,
web pages and logs. Some characters are never part of such text and break what they travel into:

- the C0 controls except tab (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F), DEL (U+007F) and the C1 controls
  (U+0080–U+009F): PostgreSQL cannot store U+0000, XML 1.0 cannot carry the C0 controls at all;
- the line and paragraph separators U+2028 and U+2029, which break a line where no one expects one;
- the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make text display in another
  order than it is stored (the "Trojan Source" trick); the marks U+200E and U+200F stay allowed;
- lone surrogates (U+D800–U+DFFF), which no UTF-8 text can hold, and the noncharacters U+FFFE and U+FFFF, which
  XML cannot carry.

A *single-line* field (titles, names, units, labels) refuses line feed and carriage return as well; a
*multi-line* field (descriptions, SLA texts, messages, reasons) allows them. Tab is allowed in both.

The rule is stated once here as a regular expression. The msgspec types made by :func:`single_line` and
:func:`multi_line` carry it (so the OpenAPI document states it, with the length limits) and the web forms convert
into the same Structs; :func:`text_error` applies it to text that arrives another way (a cursor, the sign-in
form), :func:`printable` to text stored before the rule, and :func:`sepa_text` makes any name fit a SEPA file.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import msgspec

#: Characters no text field accepts (a character class body, in the syntax Python and ECMA-262 share).
FORBIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"
#: What a single-line field refuses besides: line feed and carriage return.
LINE_BREAKS = r"\n\r"

#: The end of the text, for every pattern of an input. msgspec searches with Python's ``re``, where ``$`` also
#: matches before a final line feed (``"HZD\n"`` passes ``^[A-Z]+$``); ``(?!\n)`` rules that out and changes
#: nothing in ECMA-262 (the OpenAPI document's dialect), where ``$`` is the end of the text.
END = r"$(?!\n)"
# A visible character somewhere: a lookahead scans the text once, where ``\S`` between two ``*`` would backtrack.
_NOT_BLANK = r"(?=\s*\S)"

SINGLE_LINE = rf"^[^{FORBIDDEN}{LINE_BREAKS}]*{END}"
SINGLE_LINE_NOT_BLANK = rf"^{_NOT_BLANK}[^{FORBIDDEN}{LINE_BREAKS}]*{END}"
MULTI_LINE = rf"^[^{FORBIDDEN}]*{END}"
MULTI_LINE_NOT_BLANK = rf"^{_NOT_BLANK}[^{FORBIDDEN}]*{END}"

_SINGLE_WORDS = "one line of text: no control characters, line breaks or bidirectional overrides"
_MULTI_WORDS = "text without control characters or bidirectional overrides (line breaks allowed)"
#: Patterns and what they ask for, in words (for the OpenAPI description and for error messages).
RULES: dict[str, str] = {
    SINGLE_LINE: _SINGLE_WORDS,
    SINGLE_LINE_NOT_BLANK: _SINGLE_WORDS + ", not blank",
    MULTI_LINE: _MULTI_WORDS,
    MULTI_LINE_NOT_BLANK: _MULTI_WORDS + ", not blank",
}
_FORBIDDEN_CHARACTER = re.compile(f"[{FORBIDDEN}]")
_FORBIDDEN_IN_LINE = re.compile(f"[{FORBIDDEN}{LINE_BREAKS}]")


def _pattern(*, multiline: bool, blank: bool) -> str:
    if multiline:
        return MULTI_LINE if blank else MULTI_LINE_NOT_BLANK
    return SINGLE_LINE if blank else SINGLE_LINE_NOT_BLANK


def _meta(max_length: int, *, multiline: bool, blank: bool, description: str | None, **extra: Any) -> msgspec.Meta:
    pattern = _pattern(multiline=multiline, blank=blank)
    words = f"{RULES[pattern][0].upper()}{RULES[pattern][1:]}; at most {max_length:,} characters."
    return msgspec.Meta(
        min_length=None if blank else 1,
        max_length=max_length,
        pattern=pattern,
        description=f"{description} {words}" if description else words,
        **extra,
    )


def single_line(max_length: int, *, blank: bool = False, description: str | None = None, **extra: Any) -> msgspec.Meta:
    """The constraints of a one-line text field of at most ``max_length`` characters (``blank``: may be empty).

    Use as ``Annotated[str, single_line(200)]``; ``extra`` goes to ``msgspec.Meta`` (e.g. ``examples``).
    """
    return _meta(max_length, multiline=False, blank=blank, description=description, **extra)


def multi_line(max_length: int, *, blank: bool = False, description: str | None = None, **extra: Any) -> msgspec.Meta:
    """The constraints of a text field that may hold several lines, of at most ``max_length`` characters."""
    return _meta(max_length, multiline=True, blank=blank, description=description, **extra)


def text_error(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with the characters of ``value`` (None: nothing); the length is the caller's to check."""
    found = (_FORBIDDEN_CHARACTER if multiline else _FORBIDDEN_IN_LINE).search(value)
    if found is None:
        return None
    return f"contains the character U+{ord(found.group()):04X}, which text fields do not accept"


#: Every pattern whose refusal is put in words: the text rules and those given to :func:`worded`.
_WORDS: dict[str, str] = dict(RULES)


def worded(pattern: str, words: str) -> str:
    """``pattern``, with what it asks for in ``words``: a refusal then says so instead of quoting the pattern."""
    _WORDS[pattern] = words
    return pattern


def _refused(message: str, patterns: dict[str, str]) -> str | None:
    for pattern, words in patterns.items():
        if f"matching regex {pattern!r}" in message:
            return f"must be {words}"
    return None


def explain(message: str) -> str | None:
    """What a msgspec validation message asks for, in words, when its pattern has words (else None)."""
    return _refused(message, _WORDS)


def breaks_text_rule(message: str) -> bool:
    """True when a msgspec validation message refuses a text field's characters (or a blank text)."""
    return _refused(message, RULES) is not None


def printable(value: str, *, multiline: bool = False) -> str:
    """``value`` with every character the rule refuses replaced by a space: for text stored before the rule."""
    return (_FORBIDDEN_CHARACTER if multiline else _FORBIDDEN_IN_LINE).sub(" ", value)


# --- SEPA ---------------------------------------------------------------------------------------------------

#: The SEPA character set (EPC guidelines: Latin letters, digits, space and / - ? : ( ) . , ' +) plus the
#: German umlauts and ß, which German banks accept; a payment file gets them transliterated (:func:`sepa_text`).
SEPA_CHARACTERS = r"A-Za-z0-9/?:().,'+ ÄÖÜäöüß-"
SEPA_NAME = worded(
    rf"^[{SEPA_CHARACTERS}]*{END}",
    "in the SEPA character set: Latin letters, digits, umlauts, ß, space and / - ? : ( ) . , ' +",
)
SEPA_NAME_LENGTH = 70
_SEPA_STRICT = re.compile(r"[^A-Za-z0-9/?:().,'+ -]")
_GERMAN = str.maketrans({"Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "&": "+"})


def sepa_text(value: str, limit: int = SEPA_NAME_LENGTH) -> str:
    """``value`` in the strict SEPA character set, at most ``limit`` characters.

    Umlauts and ß are spelled out (ä → ae), accents dropped (é → e), ``&`` becomes ``+``, anything else a space;
    runs of spaces are collapsed. Any text, however it was stored, gives a name a payment file can carry.
    """
    spelled = unicodedata.normalize("NFKD", value.translate(_GERMAN))
    ascii_only = "".join(character for character in spelled if not unicodedata.combining(character))
    return " ".join(_SEPA_STRICT.sub(" ", ascii_only).split())[:limit].rstrip()
