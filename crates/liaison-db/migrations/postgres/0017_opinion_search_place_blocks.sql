-- PostgreSQL search windows per place: every search vector also carries each of its place
-- tokens within its id's block (zs43b244, zr17b244: liaison_db::opinions::pg_scope_tokens), so
-- that a search within a station or a region asks GIN for that place's newest blocks and walks
-- only its items there, not all of the city's (liaison_db::opinions::list_search;
-- docs/benchmarks.md, eleventh pass). The index is dropped while the rows are rewritten and
-- built once at the end. Keep the file names in step with ../sqlite/.
DROP INDEX opinion_text_search; -- dialect
UPDATE opinion_text SET scope_tokens = scope_tokens || COALESCE((SELECT string_agg(' ' || t || 'b' || (opinion_id / 4096), '') FROM unnest(string_to_array(scope_tokens, ' ')) AS t WHERE t NOT LIKE 'zb%'), ''); -- dialect
CREATE INDEX opinion_text_search ON opinion_text USING GIN (search_vector); -- dialect
