-- Forget answers that expired or have a shape this version does not read.
DELETE FROM koito_import.musicbrainz_answers
WHERE format <> %(format)s
   OR fetched_at <= now() - CASE WHEN answer IS NULL THEN %(not_found_ttl)s ELSE %(ttl)s END
