"""The headless daemon: a durable task queue (SQLite on one host, PostgreSQL for a fleet of
hosts) served over HTTP to a pool of Android devices, one worker thread per device.

    store.py         the queue, one logic over both engines: atomic claims, leases + heartbeats,
                     crash recovery, run log, the fleet's devices and hosts
    store_base.py    what an engine provides; `--db` URLs; why no queue library
    db.py            the SQLite engine (schema, migrations in place, one connection per thread)
    store_pg.py      the PostgreSQL engine (psycopg pool, SKIP LOCKED, LISTEN/NOTIFY, migrations)
    models.py        tasks, runs, approvals, devices, events (store rows and API bodies)
    approvals.py     sensitive actions held for a decision through the API
    worker.py        one device: open it, claim a task, run it, record it, survive drops
    pool.py          the devices as adb reports them, their workers, the heartbeat
    api.py           the FastAPI app (it only touches the store)
    auth.py          the token: given, read from a 0600 file, or generated; the browser cookie
    gate.py          Host / Origin checks, no token in URLs, body limit, the access log
    config.py        the settings and the run options they give a task
    server.py        startup: the lock beside the database, recovery, uvicorn
    fence.py         a host that cannot renew a lease stops sending input before it can expire
    fleet.py, bench.py  virtual phones + a daemon process, for `guiagent bench daemon` and tests
    cluster.py       several such hosts on one PostgreSQL queue, each behind its own tcp_proxy.py
    fault_run.py     the multi-host fault run (kill, database cut, phones dropped); fault_check.py
                     judges it from the run log and from the phones' own state

Nothing here is imported by `guiagent` itself; FastAPI and uvicorn load only in `api`/`server`.
"""
