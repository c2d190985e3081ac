"""The Koito-export domain: imported listens written as Koito export files for a Koito >= 0.3."""
