-- The public list of published requests (Open311 `GET requests`, liaison_db::opinions::published)
-- walks only the items their submitters allowed to publish, newest first; without this index a
-- scope with few of them would read every row backwards. New submissions that are not
-- published write no entry. The query spells the predicate exactly as here, so that both
-- planners see that it implies the index's.
CREATE INDEX opinion_published ON opinion(id) WHERE publishable = TRUE AND confidential = FALSE;
