"""The results table: DIR/results.sqlite, one row per trial, written as each trial ends.

A row goes in only after the trial's artifacts are on disk, in one transaction keyed by
the trial's key: a sweep killed at any moment leaves whole rows only, and its rerun
skips them (no duplicates: the key is the primary key). SQLite because it is in the
standard library, survives a SIGKILL mid-write (journal) and any tool reads it
(`sqlite3 DIR/results.sqlite 'select * from trials'`); results.csv is an export.
"""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time

# column -> SQLite type; the row dicts of runner.py carry these keys
COLUMNS = {
    "key": "TEXT PRIMARY KEY", "model": "TEXT", "board": "TEXT", "method": "TEXT", "setting": "TEXT",
    "bins": "INTEGER", "target_ratio": "REAL", "max_drop": "REAL", "refine_steps": "INTEGER",
    "seed": "INTEGER", "status": "TEXT", "error": "TEXT",
    "weight_ratio": "REAL", "model_ratio": "REAL", "parameter_bytes": "INTEGER", "flash_bytes": "INTEGER",
    "ram_bytes": "INTEGER", "arena_bytes": "INTEGER", "firmware_flash_estimate": "INTEGER",
    "firmware_ram_estimate": "INTEGER", "fits": "INTEGER", "instructions": "INTEGER", "est_cycles": "INTEGER",
    "est_ms": "REAL", "counted_on": "TEXT", "proxy_agreement": "REAL", "proxy_kl": "REAL",
    "accuracy": "REAL", "compress_seconds": "REAL", "seconds": "REAL", "worker": "TEXT", "finished_at": "REAL", "deploy_command": "TEXT",
}


class Store:
    def __init__(self, out_dir: str):
        os.makedirs(out_dir, exist_ok=True)
        self.path = os.path.join(out_dir, "results.sqlite")
        self.db = sqlite3.connect(self.path)
        cols = ", ".join(f"{k} {t}" for k, t in COLUMNS.items())
        self.db.execute(f"CREATE TABLE IF NOT EXISTS trials ({cols})")
        # a table an older edgekit wrote: add the columns it lacks (their old rows hold NULL)
        have = {r[1] for r in self.db.execute("PRAGMA table_info(trials)")}
        for k in COLUMNS:
            if k not in have:
                self.db.execute(f"ALTER TABLE trials ADD COLUMN {k} {COLUMNS[k]}")
        self.db.commit()

    def done(self, retry_failed: bool = False) -> set[str]:
        """Keys of the trials already in the table (failed ones too, unless retry_failed)."""
        q = "SELECT key FROM trials" + (" WHERE status = 'ok'" if retry_failed else "")
        return {k for (k,) in self.db.execute(q)}

    def put(self, row: dict) -> None:
        row = {**{k: None for k in COLUMNS}, **row, "finished_at": time.time()}
        row["fits"] = None if row["fits"] is None else int(bool(row["fits"]))
        with self.db:   # one transaction: the row is in whole or not at all
            self.db.execute(f"INSERT OR REPLACE INTO trials ({', '.join(COLUMNS)}) "
                            f"VALUES ({', '.join('?' * len(COLUMNS))})", [row[k] for k in COLUMNS])

    def rows(self) -> list[dict]:
        cur = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM trials ORDER BY model, board, setting, seed")
        return [dict(zip(COLUMNS, r)) for r in cur]

    def csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(COLUMNS))
        w.writeheader()
        w.writerows(self.rows())
        return buf.getvalue()

    def close(self) -> None:
        self.db.close()


def as_json(row: dict) -> str:
    return json.dumps({k: row.get(k) for k in COLUMNS}, sort_keys=False)
