-- Inbox lists of a county or the city filter on state, deadline or category and on the region
-- path. With indexes that hold the path too, the list is read from the index alone and only the
-- rows of the page are looked up (docs/benchmarks.md, third pass); before, every candidate row
-- was read to test its path. The category filter is on the effective category — the confirmed
-- one, else the classifier's suggestion — written as one expression that the index holds.
-- Keep in step with the other dialect's file of the same name.
CREATE INDEX opinion_state_region ON opinion(state, region_path, id);
DROP INDEX opinion_due_on;
CREATE INDEX opinion_due_region ON opinion(due_on, region_path, id) WHERE due_on IS NOT NULL;
DROP INDEX opinion_category_state;
CREATE INDEX opinion_effective_category ON opinion((CASE WHEN category = '' THEN category_suggested ELSE category END), state, region_path, id);
