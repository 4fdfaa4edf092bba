"""The tests' throwaway PostgreSQL cluster (fixtures `pg_cluster` and `pg_url` in conftest.py):
the product's own, also used by `guiagent bench daemon --engine postgres` (guiagent/daemon/pgcluster.py).
It fails with the reason and the server's log when PostgreSQL cannot run: never a skip."""

from guiagent.daemon.pgcluster import PgCluster, PgUnavailable, find_bin_dir  # noqa: F401
