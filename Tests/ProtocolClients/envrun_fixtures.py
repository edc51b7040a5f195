"""Shared by the protocol client tests: where the servers are and the packs' gold (read from Tasks/, which the
test has and the server's clients never see)."""

import gzip
import json
import os
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
URL = os.environ.get("ENVRUN_URL", "").rstrip("/")
# A second server whose one pack is judged by a judge that is not there: every check fails on envrun's side.
JUDGED_URL = os.environ.get("ENVRUN_JUDGED_URL", "").rstrip("/")
MAX_SESSIONS = int(os.environ.get("ENVRUN_MAX_SESSIONS", "0") or 0)
LIVE = unittest.skipUnless(URL, "ENVRUN_URL is not set: no live envrun server to test against")
JUDGED = unittest.skipUnless(JUDGED_URL, "ENVRUN_JUDGED_URL is not set: no server with an unreachable judge")


def tasks(pack):
    path = os.path.join(ROOT, "Tasks", pack, "tasks.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def task(pack, task_id):
    return next(t for t in tasks(pack) if t["id"] == task_id)
