"""The benchmark's CPU-bound WSGI app for gunicorn: each request hashes
BENCH_ROUNDS times (default 3000) with SHA-256 before it answers with its
PID. With BENCH_IMPORT_SECONDS it first takes that long to import, as a
large app does.

    gunicorn -w 2 -b 127.0.0.1:8080 --chdir bench/workers/python app:app
    shardinit --workers 2 --listen http=127.0.0.1:8080 -- \
        gunicorn -w 1 --chdir bench/workers/python app:app   # LISTEN_FDS
"""
import hashlib
import os
import time

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3000"))
# BENCH_SLEEP_MS makes each request wait that long instead of hashing: a
# handler that waits on a database, one request at a time per worker.
SLEEP = float(os.environ.get("BENCH_SLEEP_MS", "0")) / 1000
SLOT = os.environ.get("SHARDINIT_SLOT", "0")
WORKERS = os.environ.get("SHARDINIT_SLOTS", "1")
time.sleep(float(os.environ.get("BENCH_IMPORT_SECONDS", "0")))


def app(environ, start_response):
    h = environ.get("PATH_INFO", "/").encode()
    if SLEEP:
        time.sleep(SLEEP)
    for _ in range(0 if SLEEP else ROUNDS):
        h = hashlib.sha256(h).digest()
    body = ("python from worker %s of %s (pid %d) %s\n" % (SLOT, WORKERS, os.getpid(), h[:4].hex())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
