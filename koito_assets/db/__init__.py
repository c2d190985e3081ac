"""PostgreSQL: the embedded server, connections, migrations and the Dagster resource."""
