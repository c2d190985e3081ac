"""One play, one listen: recognise a play that another source's export already loaded.

:mod:`conventions` says which source each export format is and how each source's times relate
to the play; :mod:`matching` runs the set-based matching when a file's listens are loaded.
docs/cross-source-dedupe.md explains both.
"""
