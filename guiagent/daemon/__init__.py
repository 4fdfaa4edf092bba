"""The headless daemon: a durable task queue (SQLite, WAL) served over HTTP to a pool of
Android devices, one worker thread per device.

    store.py      the queue: atomic claims, leases + heartbeats, crash recovery, run log
    approvals.py  sensitive actions held for a decision through the API
    worker.py     one device: open it, claim a task, run it, record it, survive drops
    pool.py       the devices as adb reports them, their workers, the heartbeat
    api.py        the FastAPI app (it only touches the store)
    server.py     startup: the lock beside the database, recovery, uvicorn

Nothing here is imported by `guiagent` itself; FastAPI and uvicorn load only in `api`/`server`.
"""
