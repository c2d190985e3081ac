"""The reports domain: what a person would rather look at than counts.

``listening_report`` (per file): listens per month as a chart and a table, the months without
listens, top artists and tracks, what was already there. ``koito_library``: the library's
totals after every import and image run, which Dagster plots over time.
"""
