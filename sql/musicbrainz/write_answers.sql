-- Store answers (NULL: no such entity), replacing older ones; each question at most once.
INSERT INTO koito_import.musicbrainz_answers AS a (kind, mbid, answer, format, fetched_at)
SELECT v.kind, v.mbid, v.answer::jsonb, %(format)s, now()
FROM unnest(%(kinds)s::text[], %(mbids)s::uuid[], %(answers)s::text[]) AS v(kind, mbid, answer)
ON CONFLICT (kind, mbid) DO UPDATE
SET answer = EXCLUDED.answer, format = EXCLUDED.format, fetched_at = EXCLUDED.fetched_at
