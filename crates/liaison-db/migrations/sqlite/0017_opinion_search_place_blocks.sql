-- PostgreSQL only: its search vectors gain each place token within the id's block (see
-- ../postgres/0017_opinion_search_place_blocks.sql). SQLite's FTS5 walks its matches newest
-- first by itself. This file keeps the two sets of names in step.
SELECT 1; -- dialect
