"""Local fake servers for the external HTTP services (MusicBrainz, image providers, image hosts).

Each fake is a real HTTP server on 127.0.0.1 with an ephemeral port that speaks the service's
real response format (docs/external-apis.md). Pytest fixtures for all of them live in
:mod:`tests.fakes.fixtures`.
"""
