"""Full-text search over incident titles and descriptions with the database's own engine:
SQLite FTS5 (table and triggers from migration 0002) or PostgreSQL's tsvector (GIN index on
the same expression as below, so the planner uses it)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

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
RANK_POOL = 500
PG_DOCUMENT = "to_tsvector('english', coalesce(i.title, '') || ' ' || coalesce(i.description, ''))"


def terms(text: str) -> list[str]:
    """The distinct, meaningful words of `text`, at most MAX_TERMS of them."""
    seen: dict[str, None] = {}
    for word in WORD.findall(text.lower()):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


QUERY_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 8


def incidents_matching(text: str) -> Q:
    """A filter on incidents whose title or description has every word of `text` (each as
    the start of a word, after stemming: "fail" finds "failed" and "failures"), read from the
    full-text index on either database, so a search costs the same however many incidents
    exist, even one that matches nothing. Text without a word to search matches nothing."""
    words = [w for w in QUERY_WORD.findall(text.lower()) if w not in STOPWORDS]
    words = list(dict.fromkeys(words))[:MAX_QUERY_WORDS]
    if not words:
        return Q(pk__in=[])
    # words are letters and digits only, so they cannot carry query syntax of their own
    if connection.vendor == "postgresql":
        query = " & ".join(f"{w}:*" for w in words)
        # materialized, so the GIN index answers first whatever the planner guesses of the
        # match count: never walking the newest incidents testing each one's document
        sql = (
            f"WITH m AS MATERIALIZED (SELECT i.id FROM incidents_incident i "
            f"WHERE {PG_DOCUMENT} @@ to_tsquery('english', %s)) SELECT m.id FROM m"
        )
    else:
        query = " AND ".join(f'"{w}"*' for w in words)
        sql = "SELECT rowid FROM portal_incident_fts WHERE portal_incident_fts MATCH %s"
    return Q(pk__in=RawSQL(sql, [query]))


def ranked_incident_ids(
    text: str,
    *,
    statuses: Sequence[str] | None = None,
    exclude: int | None = None,
    limit: int = 50,
) -> list[int]:
    """Ids of incidents (in `statuses`, if given) sharing words with `text`, best match
    first. Filtering by status in the same query keeps ranking to the few open incidents."""
    words = terms(text)
    if not words:
        return []
    params: list[str | int] = []
    where = ""
    if statuses:
        where += f" AND i.status IN ({', '.join(['%s'] * len(statuses))})"
        params += list(statuses)
    if exclude is not None:
        where += " AND i.id <> %s"
        params.append(exclude)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # the GIN index finds the matching candidates (newest first, at most RANK_POOL);
            # only those have their document built again, once, for the rank
            cursor.execute(
                "WITH q AS (SELECT websearch_to_tsquery('english', %s) AS q), "
                f"m AS MATERIALIZED (SELECT i.id FROM incidents_incident i, q "
                f"WHERE {PG_DOCUMENT} @@ q.q{where} ORDER BY i.id DESC LIMIT %s), "
                f"c AS MATERIALIZED (SELECT i.id, {PG_DOCUMENT} AS doc "
                "FROM incidents_incident i JOIN m ON m.id = i.id) "
                "SELECT c.id FROM c, q ORDER BY ts_rank(c.doc, q.q) DESC, c.id DESC LIMIT %s",
                [" or ".join(words), *params, RANK_POOL, limit],
            )
        else:
            # words are letters and digits only, so quoting them makes each a plain term
            cursor.execute(
                "SELECT f.rowid FROM portal_incident_fts f "
                "JOIN incidents_incident i ON i.id = f.rowid "
                f"WHERE portal_incident_fts MATCH %s{where} "
                "ORDER BY f.rank, f.rowid DESC LIMIT %s",
                [" OR ".join(f'"{w}"' for w in words), *params, limit],
            )
        return [row[0] for row in cursor.fetchall()]
