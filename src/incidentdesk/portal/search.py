"""Full-text search over incident titles and descriptions with the database's own engine:
SQLite FTS5 (table and triggers from migration 0002) or PostgreSQL's tsvector (GIN index on
the same expression as below, so the planner uses it)."""

from __future__ import annotations

import re

from django.db import connection

WORD = re.compile(r"[^\W_]{3,}")
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "all",
        "any",
        "can",
        "had",
        "her",
        "was",
        "one",
        "our",
        "out",
        "has",
        "have",
        "from",
        "with",
        "this",
        "that",
        "they",
        "them",
        "then",
        "than",
        "when",
        "what",
        "which",
        "who",
        "will",
        "would",
        "there",
        "their",
        "been",
        "into",
        "also",
        "its",
        "some",
        "just",
        "very",
        "does",
        "did",
        "doing",
        "about",
        "after",
        "before",
        "again",
        "please",
        "cannot",
    ]
)
MAX_TERMS = 24
PG_DOCUMENT = "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, ''))"


def terms(text: str) -> list[str]:
    """The distinct, meaningful words of `text`, at most MAX_TERMS of them."""
    seen: dict[str, None] = {}
    for word in WORD.findall(text.lower()):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def ranked_incident_ids(text: str, limit: int = 50) -> list[int]:
    """Ids of incidents sharing words with `text`, best match first."""
    words = terms(text)
    if not words:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT id FROM incidents_incident WHERE {PG_DOCUMENT} @@ "
                "websearch_to_tsquery('english', %s) "
                f"ORDER BY ts_rank({PG_DOCUMENT}, websearch_to_tsquery('english', %s)) DESC, "
                "id DESC LIMIT %s",
                [" or ".join(words), " or ".join(words), limit],
            )
        else:
            # words are letters and digits only, so quoting them makes each a plain term
            cursor.execute(
                "SELECT rowid FROM portal_incident_fts WHERE portal_incident_fts MATCH %s "
                "ORDER BY rank, rowid DESC LIMIT %s",
                [" OR ".join(f'"{w}"' for w in words), limit],
            )
        return [row[0] for row in cursor.fetchall()]
