-- The public list of published requests (Open311 `GET requests`, liaison_db::opinions::published)
-- reads only the items their submitters allowed to publish, newest first within a window of
-- dates: the index answers the window and the order, so an empty window costs one probe instead
-- of a walk through every published item. New submissions that are not published write no
-- entry. The query spells the predicate exactly as here, so that both planners see that it
-- implies the index's.
CREATE INDEX opinion_published ON opinion(created_at, id) WHERE publishable = TRUE AND confidential = FALSE;
