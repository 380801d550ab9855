-- The phone's index also carries the category and the time received, so 民意办理统计 finds a
-- submitter's next item of the same category (息诉率) from the index alone, without reading
-- each of that submitter's rows. Lookups by phone alone use its first column as before.
DROP INDEX opinion_phone_idx;
CREATE INDEX opinion_phone_idx ON opinion (submitter_phone_idx, category, created_at);
