-- Region paths (`/1/2/39/`) compare byte by byte, as on SQLite. A list of a county asks for
-- `region_path LIKE '/1/2/39/%'`; PostgreSQL turns such a prefix into a range of an index
-- only under the "C" collation, and a database created with any other (C.UTF-8 included, as
-- on Debian) tested the path of every candidate row instead: a county's category list read a
-- thousand table pages for its count (docs/benchmarks.md, sixth pass). Paths hold only digits
-- and slashes, so no comparison changes its answer. Keep the file names in step with ../sqlite/.
ALTER TABLE region ALTER COLUMN path TYPE TEXT COLLATE "C"; -- dialect
ALTER TABLE opinion ALTER COLUMN region_path TYPE TEXT COLLATE "C"; -- dialect
ALTER TABLE suggestion ALTER COLUMN region_path TYPE TEXT COLLATE "C"; -- dialect
ALTER TABLE activity_plan ALTER COLUMN region_path TYPE TEXT COLLATE "C"; -- dialect
ALTER TABLE activity ALTER COLUMN region_path TYPE TEXT COLLATE "C"; -- dialect
ALTER TABLE deliberation ALTER COLUMN region_path TYPE TEXT COLLATE "C"; -- dialect
ALTER TABLE follow_up_item ALTER COLUMN region_path TYPE TEXT COLLATE "C"; -- dialect
ALTER TABLE question_window ALTER COLUMN region_path TYPE TEXT COLLATE "C"; -- dialect
-- The effective-category index also holds the two columns its expression reads, so that a
-- count is answered from the index alone: PostgreSQL reads an index-only scan's columns, not
-- its expressions.
DROP INDEX opinion_effective_category; -- dialect
CREATE INDEX opinion_effective_category ON opinion((CASE WHEN category = '' THEN category_suggested ELSE category END), state, region_path, id) INCLUDE (category, category_suggested); -- dialect
