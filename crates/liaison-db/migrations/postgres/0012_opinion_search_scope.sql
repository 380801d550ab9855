-- Scoped full-text search on PostgreSQL, as SQLite has since 0009: an opinion's search vector
-- also carries its station (zs<id>) and every region of its path (zr<id>), written to
-- `scope_tokens` by liaison_db::opinions::fts_scope_tokens. A search within a station or a
-- county then asks the GIN index for the words *and* the place, which it answers by
-- intersecting posting lists, instead of reading every match of a common word and testing each
-- against the scope (docs/benchmarks.md, fourth pass). The index is dropped while the rows are
-- rewritten and built once at the end. Keep the file names in step with ../sqlite/.
DROP INDEX opinion_text_search; -- dialect
ALTER TABLE opinion_text DROP COLUMN search_vector; -- dialect
ALTER TABLE opinion_text ADD COLUMN scope_tokens TEXT NOT NULL DEFAULT ''; -- dialect
UPDATE opinion_text t SET scope_tokens = 'zs' || o.station_id || ' zr' || -- dialect
    replace(substr(o.region_path, 2, length(o.region_path) - 2), '/', ' zr') -- dialect
FROM opinion o WHERE o.id = t.opinion_id; -- dialect
ALTER TABLE opinion_text ADD COLUMN search_vector tsvector -- dialect
    GENERATED ALWAYS AS (to_tsvector('simple', search_text || ' ' || scope_tokens)) STORED; -- dialect
CREATE INDEX opinion_text_search ON opinion_text USING GIN (search_vector); -- dialect
