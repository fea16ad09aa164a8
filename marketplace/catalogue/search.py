"""German full-text search that gives the same hits on SQLite and PostgreSQL.

Neither engine stems German the way people search: SQLite's FTS5 has no German stemmer at all, and
PostgreSQL's ``german`` Snowball configuration stems "Rechenzentrum" to ``rechenzentrum`` but "Rechenzentren" to
``rechenzentr``, so the one does not find the other. So the words are normalised here, in Python, once for both
engines, and the engines only index and match the normalised words:

1. lower-case, ``ß`` → ``ss``, umlauts and accents folded to their base letter (``Räume`` → ``raume``);
2. split into words of letters and digits, drop German stop words and single characters;
3. stem each word with a small suffix stripper derived from CISTEM (Weissweiler & Fraser, 2017), extended by
   the Latin ``-um`` (Zentrum/Zentren): ``rechenzentrum``, ``rechenzentren``, ``rechenzentrums`` →
   ``rechenzentr``; ``schulungen`` → ``schulung``; ``lizenzen`` → ``lizenz``.

A query matches an offer when every query word is the prefix of a word of its title or description, so a
compound's first part finds the compound ("Lizenz" finds "Lizenzmanagement"). SQLite matches with an FTS5 table
(``"lizenz"* AND …``), PostgreSQL with a ``tsvector`` over the normalised words (``'simple'`` configuration, GIN
index, ``lizenz:* & …``). Relevance is computed the same way on both: two points per query word found in the
title, one per query word found anywhere, ties broken by id, so that order and pages agree too.
"""

from __future__ import annotations

import re
import unicodedata

from marketplace.db import is_postgres

#: At most this many words of a query count; the rest are ignored.
MAX_QUERY_WORDS = 8

_STOP_WORDS_TEXT = """
aber alle als am an auch auf aus bei bis das dass dem den der des die durch ein eine einem einen einer eines es
fur im in ist je mit nach nicht noch oder pro sich sie so sowie uber um und unter vom von vor wie wir zu zum zur
"""
#: Words too common to search for, folded (``für`` → ``fur``).
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

_WORD = re.compile(r"[a-z0-9]+")
_DOUBLE = re.compile(r"(.)\1")
_MARKED_DOUBLE = re.compile(r"(.)\*")
_TWO_LETTER_SUFFIXES = ("em", "er", "nd", "um")


def fold(text: str) -> str:
    """Lower-case ``text`` and fold ``ß``, umlauts and accents to plain letters."""
    text = text.lower().replace("ß", "ss").replace("ẞ", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def stem(word: str) -> str:
    """The stem of one folded, lower-case word."""
    if len(word) <= 3 or word.isdigit():
        return word
    # CISTEM's trick: protect letter groups and doubled letters from the suffix stripper.
    marked = word.replace("sch", "$").replace("ei", "%").replace("ie", "&")
    marked = _DOUBLE.sub(r"\1*", marked)
    while len(marked) > 3:
        if len(marked) > 5 and marked.endswith(_TWO_LETTER_SUFFIXES):
            marked = marked[:-2]
        elif marked[-1] in "esn":
            marked = marked[:-1]
        else:
            break
    marked = _MARKED_DOUBLE.sub(r"\1\1", marked)
    return marked.replace("$", "sch").replace("%", "ei").replace("&", "ie")


def words(text: str) -> list[str]:
    """The searchable stems of ``text``, in order, with repetitions."""
    return [stem(word) for word in _WORD.findall(fold(text)) if len(word) > 1 and word not in STOP_WORDS]


def _padded(stems: list[str]) -> str:
    # Padded with spaces so that ``LIKE '% word%'`` finds a word's start anywhere, the first word included.
    return " " + " ".join(stems) + " "


def document(title: str, description: str) -> tuple[str, str]:
    """``(search_title, search_words)`` for an offer: its title's stems, and the stems of title and description."""
    title_stems = words(title)
    return _padded(title_stems), _padded(title_stems + words(description))


def query_words(query: str) -> list[str]:
    """The distinct stems of a query, at most ``MAX_QUERY_WORDS``."""
    return list(dict.fromkeys(words(query)))[:MAX_QUERY_WORDS]


class SearchSql:
    """The engine's SQL for "matches every word", and the engine-neutral relevance score, with their arguments."""

    def __init__(self, stems: list[str], *, postgres: bool | None = None) -> None:
        self.stems = stems
        self.postgres = is_postgres() if postgres is None else postgres

    def match(self, offer: str = "o") -> tuple[str, list[str]]:
        """A condition on the offers alias ``offer`` that holds when every stem prefixes one of its words."""
        if self.postgres:
            return f"{offer}.search_vector @@ to_tsquery('simple', {{}})", [" & ".join(f"{s}:*" for s in self.stems)]
        expression = " AND ".join(f'"{s}"*' for s in self.stems)
        return f"{offer}.id IN (SELECT offer_id FROM offers_search WHERE offers_search MATCH {{}})", [expression]

    def score(self, offer: str = "o") -> tuple[str, list[str]]:
        """An integer expression: two points per stem found in the title, one per stem found anywhere."""
        parts: list[str] = []
        args: list[str] = []
        for item in self.stems:
            parts.append(
                f"(CASE WHEN {offer}.search_title LIKE {{}} THEN 2 ELSE 0 END"
                f" + CASE WHEN {offer}.search_words LIKE {{}} THEN 1 ELSE 0 END)"
            )
            args.extend([f"% {item}%", f"% {item}%"])
        return " + ".join(parts) or "0", args
