-- The long texts of an opinion (body and its segmented search text) move out of the opinion
-- row into their own table. Inline, they made the heap 1.4 GB for a million rows and every
-- workflow update rewrote the row's full-text (GIN) entries as well (docs/benchmarks.md,
-- third pass). The opinion row is now short and its updates leave the search index alone.
-- Also: merged items are found by their master (notifying every submitter of a merged item
-- read the whole table without this index).
-- Keep in step with ../sqlite/0007_opinion_text.sql.
CREATE TABLE opinion_text (
    opinion_id BIGINT PRIMARY KEY REFERENCES opinion(id) ON DELETE CASCADE, -- dialect
    body TEXT NOT NULL,
    search_text TEXT NOT NULL DEFAULT ''
);
ALTER TABLE opinion_text ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED; -- dialect
INSERT INTO opinion_text (opinion_id, body, search_text) SELECT id, body, search_text FROM opinion;
CREATE INDEX opinion_text_search ON opinion_text USING GIN (search_vector); -- dialect
ALTER TABLE opinion DROP COLUMN search_vector; -- dialect
ALTER TABLE opinion DROP COLUMN body;
ALTER TABLE opinion DROP COLUMN search_text;
CREATE INDEX opinion_master ON opinion(master_id) WHERE master_id IS NOT NULL;
