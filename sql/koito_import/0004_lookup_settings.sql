-- koito_import 0004: the settings every cached resolution was made under.
-- Artist separators and whether MusicBrainz is asked change how a key resolves, yet are not part
-- of the key (it is a pure function of the record). When they change, the whole cache is stale:
-- koito_assets.catalog.cache.match_settings empties it and records the new fingerprint.
CREATE TABLE koito_import.lookup_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
