-- Indexes found missing by the 1,000,000-opinion benchmark (docs/benchmarks.md): overdue lists
-- scanned the whole table, and category filters with open states went through a category-only
-- index. Keep in step with ../sqlite/0003_opinion_indexes.sql.
CREATE INDEX opinion_due_on ON opinion(due_on) WHERE due_on IS NOT NULL;
CREATE INDEX opinion_station_due ON opinion(station_id, due_on) WHERE due_on IS NOT NULL;
DROP INDEX opinion_category;
CREATE INDEX opinion_category_state ON opinion(category, state);
