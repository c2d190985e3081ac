-- Whether any listen of the user around the file's time range came from another source. When
-- none did, Koito's own rule decides every listen of the file and no matching is needed (a first
-- import, a file of new months, a re-import). A listen without a provenance row is read as its
-- client says. The range is on listens(listened_at), Koito's own index.
SELECT EXISTS (
    SELECT 1
    FROM public.listens l
    LEFT JOIN koito_import.listen_provenance p
        ON p.track_id = l.track_id AND p.listened_at = l.listened_at
    WHERE l.listened_at BETWEEN to_timestamp(%(lo)s) AND to_timestamp(%(hi)s)
      AND l.user_id = %(user_id)s
      AND COALESCE(p.source, koito_import.source_of_client(l.client)) <> %(source)s
)
