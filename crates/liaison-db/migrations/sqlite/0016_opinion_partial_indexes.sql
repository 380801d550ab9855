-- Indexes over a column that most opinions leave empty keep only the rows that have it: a new
-- submission has no lead unit, no activity and, when it came through a station's code, no
-- deputy, and every entry it no longer writes is one B-tree insert less in the intake's
-- transaction (docs/benchmarks.md, tenth pass). Every query on these columns asks for a value
-- (`= `, `IN`, `IS NOT NULL`), which both planners know implies `IS NOT NULL`.
DROP INDEX opinion_deputy;
CREATE INDEX opinion_deputy ON opinion(deputy_id, id) WHERE deputy_id IS NOT NULL;
DROP INDEX opinion_lead_unit;
CREATE INDEX opinion_lead_unit ON opinion(lead_unit_id, state, id) WHERE lead_unit_id IS NOT NULL;
DROP INDEX opinion_activity;
CREATE INDEX opinion_activity ON opinion(activity_id) WHERE activity_id IS NOT NULL;
