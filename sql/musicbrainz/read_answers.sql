-- The stored answers to the questions (kinds[i], mbids[i]) that have not expired: an answer is
-- good for %(ttl)s, a "no such entity" for %(not_found_ttl)s.
SELECT a.kind, a.mbid::text, a.answer
FROM unnest(%(kinds)s::text[], %(mbids)s::uuid[]) AS q(kind, mbid)
JOIN koito_import.musicbrainz_answers a ON a.kind = q.kind AND a.mbid = q.mbid
WHERE a.format = %(format)s
  AND a.fetched_at > now() - CASE WHEN a.answer IS NULL THEN %(not_found_ttl)s ELSE %(ttl)s END
