-- The release group of each release MusicBrainz told us about (for the image backfill).
SELECT a.mbid::text, a.answer ->> 'group'
FROM koito_import.musicbrainz_answers a
WHERE a.kind = 'release' AND a.format = %(format)s AND a.mbid = ANY(%(mbids)s::uuid[])
  AND a.answer ->> 'group' IS NOT NULL
