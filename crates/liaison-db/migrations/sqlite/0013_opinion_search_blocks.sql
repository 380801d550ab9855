-- PostgreSQL only: its search vectors gain the block token of their id (see
-- ../postgres/0013_opinion_search_blocks.sql). SQLite's FTS5 walks its matches newest first by
-- itself. This file keeps the two sets of names in step.
SELECT 1; -- dialect
