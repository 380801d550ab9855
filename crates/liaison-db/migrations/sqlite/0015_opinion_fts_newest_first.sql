-- The full-text rows are keyed by the opinion's id negated (liaison_db::opinions::fts_rowid),
-- so that FTS5 reads a word's matches newest first in its cheap, forward direction: lists show
-- the newest first, and reading backwards cost 10-14 % more server CPU per search
-- (docs/benchmarks.md, tenth pass). This rewrites the rows stored before, as 0009 did
-- (91 s for a million rows); PostgreSQL needs nothing.
-- Keep the file names in step with ../postgres/.
INSERT INTO opinion_fts (opinion_fts) VALUES ('delete-all'); -- dialect
INSERT INTO opinion_fts (rowid, search_text) -- dialect
SELECT -o.id, t.search_text || ' zs' || o.station_id || ' zr' || -- dialect
    replace(substr(o.region_path, 2, length(o.region_path) - 2), '/', ' zr') -- dialect
FROM opinion o JOIN opinion_text t ON t.opinion_id = o.id ORDER BY o.id DESC; -- dialect
INSERT INTO opinion_fts (opinion_fts) VALUES ('optimize'); -- dialect
