"""The results store: an index of every run directory under a folder, kept in `<folder>/runs.sqlite`.

The run directories are the truth; the store is a cache built from them (see rundir.read_state for
what each file means). Compute jobs never write it: runs finish on any machine and write only their
own files, atomically. The sweep driver, `xlpt sweep --status` and `xlpt runs list|show` call `sync()`
before answering, which

1. walks the folder recursively for run directories (any folder with a config.yaml: sweep runs in
   `<out>/<id>/`, `xlpt train --out DIR/x` runs anywhere below), skipping hidden folders;
2. re-reads only directories whose files changed (size and mtime of config.yaml, status.json,
   train_summary.json, job.json, results*.json, checkpoint/last.pt: the row's `fingerprint`);
3. adds runs planned by a sweep (sweep-<name>.json manifests) that have no directory yet as pending,
   and gives every run its sweep and position;
4. drops rows whose directory is gone.
All of it is one transaction. Two directories holding the same run (a copied folder) give one row,
the finished one if any, and the other is reported.

Schema (version 4; version 3 stored 0 attempts for a run whose attempts nobody counted, version 2 named
the average `average_without_en` and had no source_language: an older store is moved aside and rebuilt
from the run directories, like any store of another version):

    runs(id PRIMARY KEY, sweep, position, task, method, model, seed, config_json, run_dir, status,
         started, finished, elapsed_s, attempts, error, owner, job_id, eval_split, metric, average,
         average_without_source, source_language, provenance_json, legacy_id, fingerprint)
    metrics(run_id, split, lang, metric, value, n, source_split, PRIMARY KEY (run_id, split, lang, metric))
    meta(key PRIMARY KEY, value)                      -- schema_version

`attempts` counts the sweep's attempts at a run (status.json `attempts`); NULL when no sweep counted them
(a run made by `xlpt train`). `average_without_source` leaves out the run's training language `source_language` (results.json's, else
config data.train_lang; results written before it have `average_without_en`, read in its place: it left
out data.train_lang too). `run_dir` is relative to the store's folder, so a folder can be moved or copied whole. `split` is the
evaluated split; `source_split` is where a language's number really came from (dev when that language
has no labeled test split, see evaluation.evaluate). Times are the files' own (UTC ISO 8601).

The database uses a rollback journal, not WAL: WAL needs shared memory between its processes, which a
shared (NFS) file system cannot give, and the store may sit on one. A store that cannot be opened
(damaged, or another schema version) is moved aside and rebuilt; a folder that cannot be written gets
an in-memory index for the one command.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import ConfigError, RunFileError, XlptError
from xlpt.sweeps.manifest import PATTERN as MANIFEST_PATTERN
from xlpt.sweeps.manifest import read_manifest
from xlpt.run_dir import now
from xlpt.sweeps.rundir import STATUSES, RunState, is_locked, read_state

STORE_NAME = "runs.sqlite"
SCHEMA_VERSION = "4"

SCHEMA = f"""
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
    status TEXT NOT NULL CHECK (status IN ({', '.join(f"'{s}'" for s in STATUSES)})),
    started TEXT,
    finished TEXT,
    elapsed_s REAL,
    attempts INTEGER,
    error TEXT,
    owner TEXT,
    job_id TEXT,
    eval_split TEXT,
    metric TEXT,
    average REAL,
    average_without_source REAL,
    source_language TEXT,
    provenance_json TEXT,
    legacy_id TEXT,
    fingerprint TEXT
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

# The files whose size and mtime say whether a run directory changed since it was indexed.
WATCHED = ("config.yaml", "task.yaml", "status.json", "train_summary.json", "job.json", "checkpoint/last.pt")


class UnusableStore(ConfigError):
    """The SQLite file is damaged or has another schema version (it can be moved aside and rebuilt)."""


class StoreWriteError(XlptError):
    """The store could not be written (disk full, I/O error); the run directories are untouched."""


# SQLite's primary result codes for a write that the file system refused.
WRITE_FAILURES = ("SQLITE_FULL", "SQLITE_IOERR")


def write_failure(err: sqlite3.OperationalError) -> bool:
    name = getattr(err, "sqlite_errorname", None) or ""  # Python >= 3.11
    text = str(err)
    return name.startswith(WRITE_FAILURES) or "disk is full" in text or "disk I/O error" in text


@dataclass
class SyncReport:
    indexed: dict[str, int] = field(default_factory=dict)
    """Status -> number of runs in the store after the sync."""
    reread: int = 0
    """Directories read again because their files changed."""
    dropped: int = 0
    skipped: list[str] = field(default_factory=list)
    """Directories (and manifests) that could not be indexed, with why."""
    notes: list[str] = field(default_factory=list)


class RunStore:
    """Open (creating if needed) the store at `path` (":memory:" for a throwaway index of `root`)."""

    def __init__(self, path: str | Path, create: bool = True, root: str | Path | None = None):
        self.path = Path(path)
        memory = str(path) == ":memory:"
        if not memory and not create and not self.path.is_file():
            raise ConfigError(f"no results store at {self.path} (pass --out with the folder of your runs)")
        self.root = Path(root) if root is not None else self.path.parent
        try:
            if not memory:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each change is exactly one transaction.
            self.db = sqlite3.connect(str(path), timeout=60, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA busy_timeout = 60000")
            self.db.execute("PRAGMA foreign_keys = ON")
            if self.db.execute("PRAGMA journal_mode").fetchone()[0] not in ("delete", "memory"):
                self.db.execute("PRAGMA journal_mode = DELETE")
            self._create_schema()
        except sqlite3.OperationalError:
            raise  # cannot open or write (read-only folder, locked): the caller decides
        except sqlite3.DatabaseError as err:
            raise UnusableStore(f"{self.path} is not a usable results store ({err}); move it aside (or run "
                                f"`xlpt runs reindex --out {self.root}`, which does)") from err

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
        """BEGIN IMMEDIATE takes the write lock up front, so two writers never deadlock mid-transaction.
        A full disk or an I/O error (at any statement or at COMMIT) becomes StoreWriteError: one line."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self._rollback()
                raise
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as err:
            if not write_failure(err):
                raise
            self._rollback()
            raise StoreWriteError(f"cannot write the runs index {self.path} ({err}); the run directories are "
                                  f"unchanged and remain the truth: free space, then `xlpt runs reindex --out "
                                  f"{self.root}` rebuilds the index") from None

    def _rollback(self) -> None:
        """Undo what is left of a failed transaction; SQLite may already have rolled it back itself (after a
        full disk or I/O error), and a second error here must not hide the first."""
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the journal is still there: the next open of the store rolls it back

    def _create_schema(self) -> None:
        with self.transaction() as db:
            row = None
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None and row[0] != SCHEMA_VERSION:
                raise UnusableStore(f"{self.path} has schema version {row[0]}, this xlpt reads {SCHEMA_VERSION}")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if row is None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def relative(self, run_dir: Path) -> str:
        try:
            return str(Path(run_dir).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(Path(run_dir).resolve())

    # ------------------------------------------------------------------------------------------ syncing

    def sync(self, full: bool = False) -> SyncReport:
        """Bring the index up to date with the run directories under `root` (see the module docstring).
        `full`: re-read every directory, not only those whose files changed."""
        report = SyncReport()
        run_dirs, manifests = discover(self.root)
        rows = {row["run_dir"]: dict(row) for row in self.db.execute("SELECT id, run_dir, fingerprint, status FROM runs")}
        candidates: dict[str, list[_Candidate]] = {}
        for run_dir in run_dirs:
            rel, print_ = self.relative(run_dir), fingerprint(run_dir)
            row = rows.get(rel)
            if not full and row is not None and row["fingerprint"] == print_:
                candidates.setdefault(row["id"], []).append(_Candidate(rel, print_, row["status"]))
                continue
            try:
                state = read_state(run_dir)
            except (RunFileError, ConfigError) as err:
                report.skipped.append(f"{run_dir}: {err}")
                continue
            report.reread += 1
            candidates.setdefault(state.id, []).append(_Candidate(rel, print_, state.status, state))
        planned = self._planned(manifests, report)
        indexed_at = {row["id"]: row["run_dir"] for row in rows.values()}
        with self.transaction() as db:
            for rid, found in candidates.items():
                best = min(found, key=lambda c: (c.status != "done", c.rel))
                for other in found:
                    if other is not best:
                        report.skipped.append(f"{self.root / other.rel}: same run {rid} as {self.root / best.rel} "
                                              "(listed once)")
                if best.state is None and indexed_at.get(rid) == best.rel:
                    continue  # unchanged since the last sync
                state = best.state or read_state(self.root / best.rel)
                sweep, position = planned.get(rid, (None, None, None, None))[:2]
                self._write_run(db, state, best.rel, best.fingerprint, state.sweep or sweep, position)
            for rid, (sweep, position, rel, config) in planned.items():
                if rid in candidates:
                    db.execute("UPDATE runs SET position = ?, sweep = COALESCE(sweep, ?) WHERE id = ?",
                               (position, sweep, rid))
                else:
                    self._write_pending(db, rid, sweep, position, rel, config)
            gone = [rid for rid in indexed_at if rid not in candidates and rid not in planned]
            db.executemany("DELETE FROM runs WHERE id = ?", [(rid,) for rid in gone])
            report.dropped = len(gone)
        for row in self.db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status"):
            report.indexed[row[0]] = row[1]
        return report

    def _planned(self, manifests: list[Path], report: SyncReport) -> dict[str, tuple]:
        """id -> (sweep, position, relative dir, config) from every manifest (the first manifest naming an
        id, in path order, gives its sweep and position)."""
        planned: dict[str, tuple] = {}
        for path in manifests:
            data, problem = read_manifest(path)
            if data is None:
                report.skipped.append(problem)
                continue
            for run in data["runs"]:
                planned.setdefault(run["id"], (data["sweep"], run.get("position"),
                                               self.relative(path.parent / run["dir"]), run["config"]))
        return planned

    def _write_run(self, db, state: RunState, rel: str, print_: str, sweep: str | None, position) -> None:
        cfg, results = state.cfg, state.results or {}
        row = {
            "id": state.id, "sweep": sweep, "position": position, "task": cfg.data.task, "method": cfg.method.name,
            "model": cfg.model.name, "seed": cfg.train.seed, "config_json": json.dumps(cfg.to_dict(), sort_keys=True),
            "run_dir": rel, "status": state.status, "started": state.started, "finished": state.finished,
            "elapsed_s": state.elapsed_s, "attempts": state.attempts, "error": state.error, "owner": state.owner,
            "job_id": state.job_id, "eval_split": cfg.data.eval_split, "metric": results.get("metric"),
            "average": results.get("average"),
            # older results name it average_without_en (it left out data.train_lang already)
            "average_without_source": results.get("average_without_source", results.get("average_without_en")),
            "source_language": results.get("source_language") or cfg.data.train_lang,
            "provenance_json": json.dumps(results["provenance"], sort_keys=True) if results.get("provenance") else None,
            "legacy_id": state.legacy_id, "fingerprint": print_,
        }
        _upsert(db, row)
        db.execute("DELETE FROM metrics WHERE run_id = ?", (state.id,))
        if state.results is not None:
            split = results.get("split", cfg.data.eval_split)
            db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?)", list(metric_rows(state.id, split, results)))

    def _write_pending(self, db, rid: str, sweep: str, position, rel: str, config: dict) -> None:
        def get(section: str, key: str, default=None):
            value = config.get(section)
            return value.get(key, default) if isinstance(value, dict) else default

        _upsert(db, {"id": rid, "sweep": sweep, "position": position, "task": str(get("data", "task", "?")),
                     "method": str(get("method", "name", "?")), "model": str(get("model", "name", "?")),
                     "seed": get("train", "seed"), "config_json": json.dumps(config, sort_keys=True), "run_dir": rel,
                     "status": "pending", "started": None, "finished": None, "elapsed_s": None, "attempts": 0,
                     "error": None, "owner": None, "job_id": None, "eval_split": get("data", "eval_split"),
                     "metric": None, "average": None, "average_without_source": None,
                     "source_language": get("data", "train_lang"), "provenance_json": None,
                     "legacy_id": None, "fingerprint": None})
        db.execute("DELETE FROM metrics WHERE run_id = ?", (rid,))

    # ------------------------------------------------------------------------------------------ reading

    def ids(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT id FROM runs")]

    def status(self, rid: str) -> str | None:
        row = self.db.execute("SELECT status, run_dir FROM runs WHERE id = ?", (rid,)).fetchone()
        return effective_status(row[0], self.root / row[1]) if row else None

    def list_runs(self, task: str | None = None, method: str | None = None, status: str | None = None,
                  sweep: str | None = None) -> list[dict]:
        clauses, args = [], []
        for column, value in (("task", task), ("method", method), ("sweep", sweep)):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(f"SELECT * FROM runs {where} ORDER BY sweep, position, run_dir, id", args).fetchall()
        runs = [self._as_dict(row) for row in rows]
        return [run for run in runs if not status or run["status"] == status]

    def get(self, id_or_prefix: str) -> dict:
        rows = self.db.execute("SELECT * FROM runs WHERE substr(id, 1, length(?)) = ?",
                               (id_or_prefix, id_or_prefix)).fetchall()
        if len(rows) != 1:
            raise ConfigError(f"no run {id_or_prefix!r} under {self.root}" if not rows else
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
        run = {key: row[key] for key in row.keys() if key not in ("config_json", "provenance_json", "fingerprint")}
        run["recorded_status"] = run["status"]
        run["status"] = effective_status(run["status"], self.root / run["run_dir"])
        return run


@dataclass
class _Candidate:
    rel: str
    fingerprint: str
    status: str
    state: RunState | None = None
    """Read in this sync (None: unchanged since the last one)."""


def _upsert(db, row: dict) -> None:
    columns = list(row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    db.execute(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
               f"ON CONFLICT(id) DO UPDATE SET {updates}", [row[c] for c in columns])


def open_index(root: str | Path) -> tuple[RunStore, list[str]]:
    """The store of `root` (created if needed) and notes on what had to be done to open it: a damaged or
    outdated store is moved aside (never deleted) and rebuilt; an unwritable folder gets an in-memory index."""
    root = Path(root)
    path = root / STORE_NAME
    try:
        return RunStore(path), []
    except UnusableStore as err:
        aside = move_aside(path)
        return RunStore(path), [f"{err}; moved it to {aside} and rebuilt the index from the run directories"]
    except (sqlite3.OperationalError, PermissionError, StoreWriteError) as err:
        return RunStore(":memory:", root=root), [f"cannot write {path} ({err}); using a temporary index"]


def move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.broken-{now().replace(':', '')}")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm", "-journal"):
        if Path(str(path) + suffix).exists():
            os.replace(str(path) + suffix, str(aside) + suffix)
    return aside


def discover(root: Path) -> tuple[list[Path], list[Path]]:
    """(run directories, sweep manifests) under `root`, sorted. A run directory is a folder with a
    config.yaml; nothing inside one is searched further, and hidden folders (.submitit logs) are skipped."""
    run_dirs, manifests = [], []
    for folder, subfolders, files in os.walk(root):
        if "config.yaml" in files:
            run_dirs.append(Path(folder))
            subfolders[:] = []
            continue
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        manifests += [Path(folder) / f for f in files if Path(f).match(MANIFEST_PATTERN)]
    return sorted(run_dirs), sorted(manifests)


def fingerprint(run_dir: Path) -> str:
    parts = []
    for name in WATCHED:
        parts.append(_stat(run_dir / name))
    for path in sorted(run_dir.glob("results*.json")):
        parts.append(f"{path.name}:{_stat(path)}")
    return "|".join(parts)


def _stat(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "-"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


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
