-- 民意办理统计 (reference §4.1) reads the dates of an item's milestones from its own row, written
-- by the transition that reaches each, instead of folding its timeline events: a report then
-- reads one row per item (docs/benchmarks.md, fifteenth pass). Keep in step with the other dialect.
ALTER TABLE opinion ADD COLUMN accepted_at TEXT;
ALTER TABLE opinion ADD COLUMN answered_on_spot_at TEXT;
ALTER TABLE opinion ADD COLUMN first_assigned_at TEXT;
ALTER TABLE opinion ADD COLUMN first_acknowledged_at TEXT;
ALTER TABLE opinion ADD COLUMN first_contacted_at TEXT;
ALTER TABLE opinion ADD COLUMN last_replied_at TEXT;
ALTER TABLE opinion ADD COLUMN supervised_at TEXT;
ALTER TABLE opinion ADD COLUMN return_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE opinion ADD COLUMN returns_rejected INTEGER NOT NULL DEFAULT 0;
-- A report covers the items received in a period.
CREATE INDEX opinion_created ON opinion (created_at, id);
