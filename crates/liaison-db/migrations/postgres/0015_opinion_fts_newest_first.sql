-- SQLite only: its full-text rows are keyed by the opinion's id negated (see
-- ../sqlite/0015_opinion_fts_newest_first.sql). PostgreSQL searches windows of ids instead
-- (liaison_db::opinions::list_search); this file keeps the two sets of names in step.
SELECT 1; -- dialect
