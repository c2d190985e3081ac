"""koito-assets: import a whole listening history into a Koito database as a Dagster asset graph."""
