-- merge-into-sqlite, on our database: the (track, second) pairs the selected import file added,
-- as koito_import.file_listens recorded them (empty when no file is selected). A listen deleted
-- since simply finds no partner in listens.
CREATE TEMP TABLE merge_file_listens ON COMMIT DROP AS
SELECT DISTINCT added.track_id, added.listened_at
FROM merge_selection s
JOIN koito_import.file_listens fl ON fl.file_id = s.file_id
CROSS JOIN LATERAL unnest(fl.track_ids, fl.listened_at) AS added(track_id, listened_at)
