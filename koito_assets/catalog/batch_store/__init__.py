"""The catalogue store of the bulk path: answers from state loaded in bulk, writes set-based.

Resolution runs in two phases over many records: all artists, then releases and tracks
record by record. For each phase one query per entity kind loads everything the phase may ask
about (every name, MBID, (title, artist) and (title, release) pair of the batch); the same
rules as the single-listen path then run in memory in file order, and see their own earlier
creations exactly as the database would (new entities get placeholder ids that sort after
every real id, so "lowest id" still means "oldest"). A phase's creations are then written with
a handful of multi-row statements, whatever the number of records.

Artists can be resolved for the whole batch first: nothing later in a resolution writes what
an artist lookup reads. Releases and tracks cannot be split so: creating a track links its
artists to its release, and a later record's release lookup may find the release through that
link (Koito-export records, which skip AddArtistsToAlbum, depend on it).

Locks come after a first run (only then is it known what the batch creates); once they are
held, the loads are read again, and only if their answers changed (someone created one of
those entities meanwhile) does the phase run again, now under the locks.

A question the loaded state cannot answer (the batch asked for something the loader did not
foresee) is answered by a live query and counted in ``live_queries``, so a gap costs speed,
never correctness; tests assert it stays at zero.
"""

from __future__ import annotations

from koito_assets.catalog.batch_store.albums import AlbumState
from koito_assets.catalog.batch_store.artists import ArtistState
from koito_assets.catalog.batch_store.loaded import Loaded
from koito_assets.catalog.batch_store.store import BatchStore
from koito_assets.catalog.batch_store.tracks import TrackState

__all__ = ["AlbumState", "ArtistState", "BatchStore", "Loaded", "TrackState"]
