"""`xlpt runs reindex` migrates run folders of xlpt <= 0.1 (flat config layout, old ids): listed once, done,
with their own finish time, and found done by the sweep afterwards (nothing is trained again)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import yaml

from xlpt.cli import main
from xlpt.run_dir import RunDir, run_id
from xlpt.sweeps.grid import expand, load_sweep
from xlpt.sweeps.reindex import legacy_id

# Keys the flat `method` section of xlpt <= 0.1 held for every method (see config.loading.migrate_legacy).
FLAT_METHOD_KEYS = {"prompt_length": 20, "prompt_init": "vocab", "init_text": None, "prompt_position": "after_bos",
                    "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "lora_targets": ["q_proj", "v_proj"]}


def run_cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().out


def make_old(run_dir) -> str:
    """Rewrite a finished run folder as xlpt 0.1 wrote it; returns its old id."""
    tree = yaml.safe_load((run_dir / "config.yaml").read_text())
    tree["method"].update(FLAT_METHOD_KEYS)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    old = legacy_id(tree)
    results = json.loads((run_dir / "results.json").read_text())
    results.update(run_id=old, config=tree)
    (run_dir / "results.json").write_text(json.dumps(results))
    (run_dir / "status.json").unlink()  # xlpt 0.1's `xlpt train` wrote none
    return old


def test_old_layout_run_folders_are_migrated_and_listed_once(single_run, tmp_path, capsys):
    sweep_file, trained = single_run
    [planned] = expand(load_sweep(sweep_file))
    new = run_id(RunDir(trained).read_config())
    assert planned.id == new  # `xlpt train --config <sweep file>` made the sweep's own run

    work = tmp_path / "work"
    shutil.copytree(trained, work)
    assert run_cli(capsys, "evaluate", "--run", work, "--quiet")[0] == 0
    results = json.loads((work / "results.json").read_text())
    old = make_old(work)
    assert old != new
    out = tmp_path / "out"
    out.mkdir()
    shutil.move(str(work), str(out / old))
    store = sqlite3.connect(out / "runs.sqlite")  # xlpt 0.1's store (schema 1) sits beside it
    store.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    store.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    store.commit()
    store.close()

    # listed once, done, with the results' own time, already before any reindex
    assert main(["runs", "list", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    [row] = json.loads(captured.out)
    assert (row["id"], row["status"], row["legacy_id"], row["run_dir"]) == (new, "done", old, old)
    assert row["finished"] == results["provenance"]["created"] and row["average"] == results["average"]
    assert "schema version 1" in captured.err and len(list(out.glob("runs.sqlite.broken-*"))) == 1

    # reindex renames the folder to the run's current id, so the sweep finds it
    code, text = run_cli(capsys, "runs", "reindex", "--out", out)
    assert code == 0 and f"-> {new}: old config layout" in text and "indexed 1 done" in text
    assert (out / new / "results.json").exists() and not (out / old).exists()
    assert json.loads((out / new / "status.json").read_text())["legacy_id"] == old
    log = (out / new / "run.log").read_text()
    code, text = run_cli(capsys, "sweep", "--config", sweep_file, "--out", out, "--quiet")
    assert code == 0 and "0 done now, 1 already done" in text
    assert (out / new / "run.log").read_text() == log  # nothing trained or evaluated again
    code, text = run_cli(capsys, "runs", "list", "--out", out, "--json")
    [row] = json.loads(text)
    assert (row["id"], row["status"], row["finished"], row["sweep"]) == (new, "done", results["provenance"]["created"],
                                                                         "single")

    # a second reindex has nothing to migrate
    code, text = run_cli(capsys, "runs", "reindex", "--out", out)
    assert code == 0 and "migrated" not in text and "indexed 1 done" in text
