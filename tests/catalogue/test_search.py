"""German full-text search: the same corpus gives the same hits, in the same order, on SQLite and PostgreSQL.

The expected hits below are fixed, so that a run on each engine proves that both give them.
"""

from __future__ import annotations

import pytest

from marketplace.catalogue import search
from tests.builders import running_app, token
from tests.catalogue.helpers import create_offer, titles

CORPUS = [
    ("Rechenzentrums-Hosting für virtuelle Server", "Betrieb im kommunalen Rechenzentrum Mainz.", "hosting"),
    ("Housing", "Stellfläche in zwei Rechenzentren mit redundanter Stromversorgung.", "hosting"),
    ("Lizenzmanagement für Volumenlizenzen", "Bestandsführung und Abstimmung Ihrer Lizenzen.", "licence_management"),
    ("Lizenzaudit", "Prüfung der Softwarelizenzen gegen Verträge.", "licence_management"),
    ("Schulungen zur E-Akte", "Eintägige Schulungen für die Sachbearbeitung.", "training"),
    ("Schulung Informationssicherheit", "Sensibilisierung für Phishing.", "training"),
    ("Cloud-Beratung", "Beratung zu Cloud-Strategie und Datenschutz.", "consulting"),
    ("Forschungsrechnen", "Rechenzeit in Kernstunden auf dem Hochleistungsrechner.", "cloud"),
    (
        "Fachverfahrensbetrieb Einwohnermeldewesen",
        "Betrieb des Meldeverfahrens mit Datensicherung.",
        "application_operation",
    ),
    ("Datensicherung (Backup)", "Tägliche Sicherung der Daten, 30 Tage Aufbewahrung.", "hosting"),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Rechenzentrum ↔ Rechenzentren, in both directions (and the genitive of the compound)
        ("Rechenzentrum", ["Rechenzentrums-Hosting für virtuelle Server", "Housing"]),
        ("Rechenzentren", ["Rechenzentrums-Hosting für virtuelle Server", "Housing"]),
        # Schulung ↔ Schulungen
        ("Schulung", ["Schulung Informationssicherheit", "Schulungen zur E-Akte"]),
        ("Schulungen", ["Schulung Informationssicherheit", "Schulungen zur E-Akte"]),
        # a compound's first part finds the compound
        ("Lizenz", ["Lizenzmanagement für Volumenlizenzen", "Lizenzaudit"]),
        ("Lizenzen", ["Lizenzmanagement für Volumenlizenzen", "Lizenzaudit"]),
        ("Lizenzmanagement", ["Lizenzmanagement für Volumenlizenzen"]),
        ("Fachverfahren", ["Fachverfahrensbetrieb Einwohnermeldewesen"]),
        ("Kernstunde", ["Forschungsrechnen"]),
        ("datensicherung", ["Datensicherung (Backup)", "Fachverfahrensbetrieb Einwohnermeldewesen"]),
        # every word must match; stop words do not count; umlauts fold
        ("Schulung Phishing", ["Schulung Informationssicherheit"]),
        ("Beratung zu der Cloud", ["Cloud-Beratung"]),
        ("stellflache", ["Housing"]),
        ("Telefonie", []),
        ("und", []),
        ("!!!", []),
    ],
)
async def test_german_queries_find_the_same_offers_on_every_engine(query: str, expected: list[str]) -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        for title, description, category in CORPUS:
            await create_offer(client, provider, publish=True, title=title, description=description, category=category)
        found = await titles(client, reader, f"q={query}")
    # The hits; their order (relevance, then id, random here) is the next test's.
    assert sorted(found) == sorted(expected)


async def test_a_title_hit_ranks_before_a_description_hit() -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        await create_offer(client, provider, publish=True, title="Archiv", description="Sicherung im Rechenzentrum.")
        await create_offer(client, provider, publish=True, title="Rechenzentrum", description="Hosting.")
        found = await titles(client, reader, "q=Rechenzentren&sort=relevance")
    assert found == ["Rechenzentrum", "Archiv"]


async def test_drafts_are_not_found() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        await create_offer(client, provider, title="Schulungen")
        assert await titles(client, provider, "q=Schulung") == []


async def test_a_changed_title_is_found_by_its_new_words_only() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True, title="Housing", description="Stellfläche.")
        await client.patch(
            f"/api/v1/offers/{offer['id']}",
            headers={"Authorization": f"Bearer {provider}"},
            json={"title": "Schulungsraum", "description": "Raum für Schulungen."},
        )
        assert await titles(client, provider, "q=Housing") == []
        assert await titles(client, provider, "q=Schulung") == ["Schulungsraum"]


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("Rechenzentrum", "rechenzentr"),
        ("Rechenzentren", "rechenzentr"),
        ("Rechenzentrums", "rechenzentr"),
        ("Schulungen", "schulung"),
        ("Lizenzen", "lizenz"),
        ("Höheneinheiten", "hoheneinheit"),
        ("Straße", "strass"),
    ],
)
def test_the_normaliser_stems_german_inflections(word: str, stem: str) -> None:
    assert search.words(word) == [stem]
