-- PostgreSQL only: its search vectors gain the station and region tokens that SQLite's
-- full-text rows carry since 0009 (see ../postgres/0012_opinion_search_scope.sql); this file
-- keeps the two sets of names in step.
SELECT 1; -- dialect
