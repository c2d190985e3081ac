"""The partitions of the import graph: one per export file, keyed by the file's name."""

import dagster as dg

# The name is persisted in Dagster's storage: never rename it.
export_files = dg.DynamicPartitionsDefinition(name="export_files")
