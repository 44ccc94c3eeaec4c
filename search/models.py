"""Index changes that could not be written yet (the database is the truth, these are retried),
and the PostgreSQL backend's own tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, JSON, BigInteger, Index, Integer, String, Text, event
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from network.db import db, utcnow
from network.visibility import Tier


class SearchPending(db.Model):
    __tablename__ = "search_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The PostgreSQL backend's documents (SEARCH_BACKEND=postgres). The columns keep PostgreSQL's own
# types there (tsvector, arrays, jsonb) and fall back to plain ones elsewhere, so one schema and
# one migration serve both databases; on SQLite the table simply stays empty.
_TSVECTOR = Text().with_variant(TSVECTOR(), "postgresql")
_TEXTS = JSON().with_variant(ARRAY(Text()), "postgresql")
_INTEGERS = JSON().with_variant(ARRAY(Integer()), "postgresql")
_STORED = JSON().with_variant(JSONB(), "postgresql")
# One tsvector per visibility tier: a member's text sits in the column of its tier, so a viewer's
# query names only the columns they may read (the rule of the Whoosh index's tier fields).
TSV_COLUMNS = {str(tier): f"tsv_{tier}" for tier in Tier}


class SearchDocument(db.Model):
    """One searchable object, as `search.documents` describes it."""

    __tablename__ = "search_documents"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    obj_id: Mapped[int]
    # Ranking ties and staleness (members), time (events), newest first (needs).
    confirmed: Mapped[int] = mapped_column(BigInteger, default=0)
    starts: Mapped[int | None] = mapped_column(BigInteger)
    ends: Mapped[int | None] = mapped_column(BigInteger)
    opened: Mapped[int | None] = mapped_column(BigInteger)
    event_tier: Mapped[str | None] = mapped_column(String(16))
    name_tier: Mapped[str | None] = mapped_column(String(16))
    # Internal: the chapters whose coordinators hold the coordinators tier for this member.
    coord_chapters: Mapped[list[int]] = mapped_column(_INTEGERS, default=list)
    # "<field>|<tier>|<value>", e.g. "f_country|members|DE": a filter or a count can only use
    # values in a tier the viewer holds.
    facets: Mapped[list[str]] = mapped_column(_TEXTS, default=list)
    # The plain texts, for explanations and snippets (never returned as they are).
    stored: Mapped[dict] = mapped_column(_STORED, default=dict)
    tsv_public: Mapped[str | None] = mapped_column(_TSVECTOR)
    tsv_members: Mapped[str | None] = mapped_column(_TSVECTOR)
    tsv_organisations: Mapped[str | None] = mapped_column(_TSVECTOR)
    tsv_coordinators: Mapped[str | None] = mapped_column(_TSVECTOR)
    tsv_ime: Mapped[str | None] = mapped_column(_TSVECTOR)
    tsv_private: Mapped[str | None] = mapped_column(_TSVECTOR)

    __table_args__ = (
        Index("ix_search_documents_kind", "kind", "confirmed"),
        Index("ix_search_documents_facets", "facets", postgresql_using="gin"),
        *(
            Index(f"ix_search_documents_{column}", column, postgresql_using="gin")
            for column in TSV_COLUMNS.values()
        ),
    )


class SearchWord(db.Model):
    """Every indexed word once (folded and singular, as the analyzer makes it): what a misspelt
    word is compared with on the fuzzy pass. Words are never removed: a stale one can only
    widen a fuzzy query to a word no visible text holds, which then matches nothing."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(100), primary_key=True)


# The text search configuration both ends use: PostgreSQL's "simple" parser and dictionary
# after `unaccent`, so "López" and "lopez" are one lexeme whatever the analyzer upstream did.
# `levenshtein` (fuzzystrmatch) compares misspelt words with SearchWord. Both extensions are
# "trusted": the database's owner may create them without superuser rights.
SEARCH_CONFIGURATION = "redglobal"
POSTGRES_SEARCH_SETUP = f"""
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{SEARCH_CONFIGURATION}') THEN
    CREATE TEXT SEARCH CONFIGURATION {SEARCH_CONFIGURATION} (COPY = simple);
    ALTER TEXT SEARCH CONFIGURATION {SEARCH_CONFIGURATION}
      ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
      WITH unaccent, simple;
  END IF;
END $$;
"""

event.listen(
    SearchDocument.__table__,
    "before_create",
    DDL(POSTGRES_SEARCH_SETUP).execute_if(dialect="postgresql"),
)
