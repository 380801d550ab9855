-- Every opinion's full-text row also carries its station (zs<id>) and the regions of its path
-- (zr<id>), so that a search within a station or a county is one FTS5 intersection instead of a
-- test of every match of a common word (liaison_db::opinions::fts_scope_tokens writes them for
-- new rows; this rebuilds the rows stored before). PostgreSQL searches windows of ids instead
-- and needs nothing here. Keep the file names in step with ../postgres/.
INSERT INTO opinion_fts (opinion_fts) VALUES ('delete-all'); -- dialect
INSERT INTO opinion_fts (rowid, search_text) -- dialect
SELECT o.id, t.search_text || ' zs' || o.station_id || ' zr' || -- dialect
    replace(substr(o.region_path, 2, length(o.region_path) - 2), '/', ' zr') -- dialect
FROM opinion o JOIN opinion_text t ON t.opinion_id = o.id ORDER BY o.id; -- dialect
