-- merge-into-sqlite, on our database: which listens to merge (one row; the later statements join
-- it, so the COPYs need no parameters): an inclusive time window, NULL an open end, and the
-- import file whose added listens alone are merged (NULL: every file's).
CREATE TEMP TABLE merge_selection ON COMMIT DROP AS
SELECT %(user_id)s::integer AS user_id,
       %(since)s::timestamptz AS since,
       %(until)s::timestamptz AS until,
       %(file_id)s::integer AS file_id
