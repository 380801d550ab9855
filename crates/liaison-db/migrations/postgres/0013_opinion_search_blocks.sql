-- Newest-first search on PostgreSQL: every search vector also carries its id's block
-- (zb<id / 4096>, liaison_db::opinions::SEARCH_BLOCK), written into `scope_tokens` by
-- liaison_db::opinions::pg_scope_tokens. A search then asks GIN for the words, the place and
-- the newest blocks first, and older blocks only when those do not fill the page
-- (liaison_db::opinions::list_search; docs/benchmarks.md, fifth pass). The index is dropped
-- while the rows are rewritten and built once at the end. Keep the file names in step with
-- ../sqlite/.
DROP INDEX opinion_text_search; -- dialect
UPDATE opinion_text SET scope_tokens = scope_tokens || ' zb' || (opinion_id / 4096); -- dialect
CREATE INDEX opinion_text_search ON opinion_text USING GIN (search_vector); -- dialect
