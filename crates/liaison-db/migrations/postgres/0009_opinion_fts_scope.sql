-- SQLite only: its full-text rows gain station and region tokens (see
-- ../sqlite/0009_opinion_fts_scope.sql). PostgreSQL searches windows of ids instead
-- (liaison_db::opinions::list_search); this file keeps the two sets of names in step.
SELECT 1; -- dialect
