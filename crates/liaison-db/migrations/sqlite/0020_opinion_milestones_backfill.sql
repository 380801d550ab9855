-- no-transaction
-- The milestones of the items received before migration 0019, from their timelines, in one pass
-- over the events. The bench generator runs this file again after writing its rows
-- (`opinion_stats::backfill_sql`).
UPDATE opinion SET
    accepted_at = m.accepted_at,
    answered_on_spot_at = m.answered_on_spot_at,
    first_assigned_at = m.first_assigned_at,
    first_acknowledged_at = m.first_acknowledged_at,
    first_contacted_at = m.first_contacted_at,
    last_replied_at = m.last_replied_at,
    return_requests = m.return_requests,
    returns_rejected = m.returns_rejected
FROM (
    SELECT e.opinion_id,
        MIN(CASE WHEN e.action = 'accept' THEN e.at END) AS accepted_at,
        MIN(CASE WHEN e.action = 'answer_on_spot' THEN e.at END) AS answered_on_spot_at,
        MIN(CASE WHEN e.action = 'assign' THEN e.at END) AS first_assigned_at,
        MIN(CASE WHEN e.action = 'acknowledge' THEN e.at END) AS first_acknowledged_at,
        MIN(CASE WHEN e.action = 'contact_submitter' THEN e.at END) AS first_contacted_at,
        MAX(CASE WHEN e.action = 'reply' THEN e.at END) AS last_replied_at,
        SUM(CASE WHEN e.action = 'request_return' THEN 1 ELSE 0 END) AS return_requests,
        SUM(CASE WHEN e.action = 'reject_return' THEN 1 ELSE 0 END) AS returns_rejected
    FROM opinion_event e
    WHERE e.action IN ('accept', 'answer_on_spot', 'assign', 'acknowledge', 'contact_submitter',
        'reply', 'request_return', 'reject_return')
    GROUP BY e.opinion_id
) AS m
WHERE m.opinion_id = opinion.id;

UPDATE opinion SET supervised_at = c.opened_at
FROM (SELECT opinion_id, MIN(opened_at) AS opened_at FROM supervision_case GROUP BY opinion_id) AS c
WHERE c.opinion_id = opinion.id;
