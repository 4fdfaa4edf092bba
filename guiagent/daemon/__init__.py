"""The headless daemon: a durable task queue (SQLite, WAL) served over HTTP to a pool of
Android devices, one worker thread per device.

    db.py, store.py  the queue: schema, atomic claims, leases + heartbeats, crash recovery, run log
    models.py        tasks, runs, approvals, devices, events (store rows and API bodies)
    approvals.py     sensitive actions held for a decision through the API
    worker.py        one device: open it, claim a task, run it, record it, survive drops
    pool.py          the devices as adb reports them, their workers, the heartbeat
    api.py           the FastAPI app (it only touches the store)
    auth.py          the token: given, read from a 0600 file, or generated; the browser cookie
    gate.py          Host / Origin checks, no token in URLs, body limit, the access log
    config.py        the settings and the run options they give a task
    server.py        startup: the lock beside the database, recovery, uvicorn
    fleet.py, bench.py  virtual phones + a daemon process, for `guiagent bench daemon` and tests

Nothing here is imported by `guiagent` itself; FastAPI and uvicorn load only in `api`/`server`.
"""
