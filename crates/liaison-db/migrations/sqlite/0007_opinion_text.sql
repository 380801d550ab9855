-- The long texts of an opinion (body and its segmented search text) move out of the opinion
-- row into their own table. With them inline, a row was mostly text spilling over several
-- pages, so every list that checked a state or a deadline read kilobytes per row, and every
-- workflow update rewrote them (docs/benchmarks.md, third pass). The opinion row is now short;
-- the text is read only for an item's detail page, search and the classifier.
-- Also: merged items are found by their master (notifying every submitter of a merged item
-- read the whole table without this index).
-- Keep in step with ../postgres/0007_opinion_text.sql.
CREATE TABLE opinion_text (
    opinion_id INTEGER PRIMARY KEY REFERENCES opinion(id) ON DELETE CASCADE, -- dialect
    body TEXT NOT NULL,
    search_text TEXT NOT NULL DEFAULT ''
);
INSERT INTO opinion_text (opinion_id, body, search_text) SELECT id, body, search_text FROM opinion;
ALTER TABLE opinion DROP COLUMN body;
ALTER TABLE opinion DROP COLUMN search_text;
CREATE INDEX opinion_master ON opinion(master_id) WHERE master_id IS NOT NULL;
