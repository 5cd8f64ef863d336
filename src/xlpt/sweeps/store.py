"""The results store: one SQLite file per output folder (`<out>/runs.sqlite`) indexing every run.

Schema (version 1):

    runs(id PRIMARY KEY, sweep, position, task, method, model, seed, config_json, run_dir,
         status CHECK IN (pending, running, done, failed), created, started, finished, elapsed_s,
         attempts, error, owner, eval_split, metric, average, average_without_en, provenance_json)
    metrics(run_id, split, lang, metric, value, n, source_split, PRIMARY KEY (run_id, split, lang, metric))
    meta(key PRIMARY KEY, value)                      -- schema_version

`run_dir` is relative to the store's folder, so an output folder can be moved or copied whole.
`split` is the evaluated split (the results file); `source_split` is where a language's number really
came from (dev when that language has no labeled test split, see evaluation.evaluate).

The store is an index, not the source of truth: results stay in each run directory as plain JSON and
`reindex` rebuilds the store from them. Every change is one transaction (BEGIN IMMEDIATE ... COMMIT),
so a process killed at any moment leaves the previous or the new state. The database runs in WAL mode
with a 60 s busy timeout: several processes (two sweeps on one folder, `xlpt runs list` while a sweep
runs) read and write it safely. WAL needs a local file system (not NFS).

A row says `running` while its process lives; after a crash it still does. Readers tell the
two apart with the run directory's lock (see rundir.RunLock): `effective_status` reports such a row as
`interrupted`, and the next sweep resumes the run.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from xlpt.config import RunConfig
from xlpt.errors import ConfigError
from xlpt.sweeps.rundir import is_locked, now

STORE_NAME = "runs.sqlite"
SCHEMA_VERSION = "1"
STATUSES = ("pending", "running", "done", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    sweep TEXT,
    position INTEGER,
    task TEXT NOT NULL,
    method TEXT NOT NULL,
    model TEXT NOT NULL,
    seed INTEGER,
    config_json TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    elapsed_s REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    owner TEXT,
    eval_split TEXT,
    metric TEXT,
    average REAL,
    average_without_en REAL,
    provenance_json TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    split TEXT NOT NULL,
    lang TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    n INTEGER,
    source_split TEXT,
    PRIMARY KEY (run_id, split, lang, metric)
);
CREATE INDEX IF NOT EXISTS runs_by_sweep ON runs (sweep, position);
"""


class RunStore:
    """Open (creating if needed) the store at `path`. Use as a context manager or call close()."""

    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise ConfigError(f"no results store at {self.path} (run `xlpt sweep` or `xlpt runs reindex` first)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.root = self.path.parent
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each change is exactly one transaction.
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA busy_timeout = 60000")
            self.db.execute("PRAGMA foreign_keys = ON")
            if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.db.execute("PRAGMA journal_mode = WAL")
            self._create_schema()
        except sqlite3.DatabaseError as err:
            raise ConfigError(f"{self.path} is not a usable results store ({err}); move it aside and rebuild "
                              f"it with `xlpt runs reindex --out {self.root}`") from err

    @classmethod
    def for_out(cls, out: str | Path, create: bool = True) -> "RunStore":
        return cls(Path(out) / STORE_NAME, create)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE takes the write lock up front, so two writers never deadlock mid-transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _create_schema(self) -> None:
        with self.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise ConfigError(f"{self.path} has schema version {row[0]}, this xlpt writes {SCHEMA_VERSION}; "
                                  f"rebuild it with `xlpt runs reindex --out {self.root}` after moving it aside")

    # ------------------------------------------------------------------------------------------ writing

    def relative(self, run_dir: Path) -> str:
        try:
            return str(Path(run_dir).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(Path(run_dir).resolve())

    def register(self, runs: list[tuple[str, RunConfig, Path, int]], sweep: str | None) -> None:
        """Add (id, config, run dir, position) as pending, in one transaction; runs already known keep their
        status, history and results (only their sweep, position and folder are updated)."""
        with self.transaction() as db:
            for rid, cfg, run_dir, position in runs:
                db.execute(
                    "INSERT INTO runs (id, sweep, position, task, method, model, seed, config_json, run_dir, status, "
                    "created, eval_split) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET sweep = excluded.sweep, position = excluded.position, "
                    "run_dir = excluded.run_dir",
                    (rid, sweep, position, cfg.data.task, cfg.method.name, cfg.model.name, cfg.train.seed,
                     json.dumps(cfg.to_dict(), sort_keys=True), self.relative(run_dir), now(), cfg.data.eval_split))

    def mark_running(self, rid: str, owner: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'running', started = ?, finished = NULL, owner = ?, error = NULL, "
                       "attempts = attempts + 1 WHERE id = ?", (now(), owner, rid))

    def mark_failed(self, rid: str, error: str, elapsed: float | None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'failed', error = ?, finished = ?, elapsed_s = ? WHERE id = ?",
                       (error, now(), elapsed, rid))

    def mark_pending(self, rid: str, note: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'pending', error = ? WHERE id = ?", (note, rid))

    def record_results(self, rid: str, results: dict, elapsed: float | None = None, finished: str | None = None) -> None:
        """Mark a run done with its results (one transaction: the row and its metrics change together)."""
        split = results.get("split", "test")
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'done', error = NULL, finished = COALESCE(?, finished, ?), "
                       "elapsed_s = COALESCE(?, elapsed_s), eval_split = ?, metric = ?, average = ?, "
                       "average_without_en = ?, provenance_json = ? WHERE id = ?",
                       (finished, now(), elapsed, split, results.get("metric"), results.get("average"),
                        results.get("average_without_en"), json.dumps(results.get("provenance"), sort_keys=True), rid))
            db.execute("DELETE FROM metrics WHERE run_id = ? AND split = ?", (rid, split))
            db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?)", list(metric_rows(rid, split, results)))

    def upsert(self, row: dict) -> None:
        """Insert or replace a whole runs row (used by reindex); metrics are left to record_results."""
        columns = list(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
        with self.transaction() as db:
            db.execute(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                       f"ON CONFLICT(id) DO UPDATE SET {updates}", [row[c] for c in columns])

    def delete(self, ids: list[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM runs WHERE id = ?", [(rid,) for rid in ids])

    # ------------------------------------------------------------------------------------------ reading

    def ids(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT id FROM runs")]

    def status(self, rid: str) -> str | None:
        row = self.db.execute("SELECT status FROM runs WHERE id = ?", (rid,)).fetchone()
        return row[0] if row else None

    def list_runs(self, task: str | None = None, method: str | None = None, status: str | None = None,
                  sweep: str | None = None) -> list[dict]:
        clauses, args = [], []
        for column, value in (("task", task), ("method", method), ("sweep", sweep)):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(f"SELECT * FROM runs {where} ORDER BY sweep, position, id", args).fetchall()
        runs = [self._as_dict(row) for row in rows]
        return [run for run in runs if not status or run["status"] == status]

    def get(self, id_or_prefix: str) -> dict:
        rows = self.db.execute("SELECT * FROM runs WHERE substr(id, 1, length(?)) = ?",
                               (id_or_prefix, id_or_prefix)).fetchall()
        if len(rows) != 1:
            raise ConfigError(f"no run {id_or_prefix!r} in {self.path}" if not rows else
                              f"{id_or_prefix!r} matches {len(rows)} runs; give more of the id")
        run = self._as_dict(rows[0])
        run["config"] = json.loads(rows[0]["config_json"])
        run["provenance"] = json.loads(rows[0]["provenance_json"]) if rows[0]["provenance_json"] else None
        run["metrics"] = self.metrics(run["id"])
        return run

    def metrics(self, rid: str) -> list[dict]:
        rows = self.db.execute("SELECT split, lang, metric, value, n, source_split FROM metrics WHERE run_id = ? "
                               "ORDER BY split, lang, metric", (rid,))
        return [dict(row) for row in rows]

    def _as_dict(self, row: sqlite3.Row) -> dict:
        run = {key: row[key] for key in row.keys() if key not in ("config_json", "provenance_json")}
        run["recorded_status"] = run["status"]
        run["status"] = effective_status(run["status"], self.root / run["run_dir"])
        return run


def effective_status(recorded: str, run_dir: Path) -> str:
    """`running` rows whose process is gone (run lock free) are `interrupted`: the next sweep resumes them."""
    if recorded == "running" and not is_locked(run_dir):
        return "interrupted"
    return recorded


def metric_rows(rid: str, split: str, results: dict):
    """(run_id, split, lang, metric, value, n, source_split) for every per-language metric.

    Metrics are the float values of a language's entry (fractions in [0, 1], see evaluation.evaluate);
    integer values are counts (n, n_words, windows, ...): `n` gets its own column, the rest stay in results.json."""
    for lang, entry in sorted((results.get("languages") or {}).items()):
        if not isinstance(entry, dict):
            continue
        n = entry.get("n") if isinstance(entry.get("n"), int) else None
        for metric, value in sorted(entry.items()):
            if isinstance(value, float):
                yield rid, split, lang, metric, float(value), n, entry.get("split", split)
