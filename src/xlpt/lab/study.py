"""The study on top of a lab: every method x model x seed, trained on the base language, tested on all.

For each task of the spec's `study` section, every method (prompt tuning, full fine-tuning, ...) is
trained on the base language's train split, once on the pretrained model and once on the
no-pretraining control, with each seed, and evaluated zero-shot on the test split of every language.
Budgets are fixed per method (learning rate, steps: `study.methods`), the same for both models, and
reported. It runs through the ordinary sweep machinery: the study writes a sweep file into its folder,
so the same runs can be rerun, inspected or extended with the ordinary commands:

    xlpt sweep --config <study>/sweep.yaml --include-path <lab>/data/tasks [--dry-run]
    xlpt report --runs <study>/runs --out <study>/xlpt-report

Beside the runs, the majority baseline of every task and language: the most frequent label of the
base training split (ties: the task's label order), scored on each language's test split.

    <lab>/study-<key[:8]>/      key: the lab's key and the study section (lab.study.study_key)
        sweep.yaml              the sweep, regenerated from the spec on every run (do not edit: copy it)
        runs/                   the sweep's output folder: one run directory per run, its store
        study.json              the plan, the majority baselines, every run's per-language scores
        report.md  report.json  the lab report (lab.report)
        xlpt-report/            the ordinary `xlpt report` over runs/
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from contextlib import nullcontext, redirect_stdout
from pathlib import Path

import yaml

from xlpt.atomic_files import write_text_atomic
from xlpt.errors import ConfigError
from xlpt.lab.pipeline import Lab, _write_json
from xlpt.schema import load_yaml

MODELS = ("pretrained", "control")

LAB_KEYS = {
    "train.learning_rate": "study.methods.{method}.learning_rate",
    "train.max_steps": "study.methods.{method}.steps",
    "train.batch_size": "study.batch_size",
    "train.eval_every": "study.eval_every",
    "train.seed": "study.seeds",
    "data.max_dev_examples": "study.max_dev_examples",
    "data.max_length": "study.max_length",
}
"""The study's run-config keys and the lab spec key that sets each: a message about a study run names
what the lab's user would change (a lab spec has no `train.learning_rate`)."""

_RUN_KEY = re.compile(r"\b(?:train|data|method|model)\.[a-z_]+\b")


def lab_terms(text: str, method: str | None) -> str:
    """`text` (an error of a study run) with run-config keys replaced by the lab spec keys that set them;
    other method keys are the method's `settings` (study.methods.<method>.settings)."""
    def spec_key(match: re.Match) -> str:
        key = match.group(0)
        if key in LAB_KEYS:
            return LAB_KEYS[key].format(method=method or "<method>")
        if key.startswith("method.") and key != "method.name":
            return f"study.methods.{method or '<method>'}.settings[{key}]"
        return key

    return _RUN_KEY.sub(spec_key, text)


def study_key(lab: Lab) -> str:
    """SHA-256 of the lab's build key and the study section: one folder per (lab, study)."""
    text = json.dumps({"lab": lab.key, "study": lab.spec.study.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def top_label_share(predictions: Path) -> float | None:
    """Share of the examples given the most frequent predicted label (1.0: the classifier predicts one label
    for everything, and its accuracy is just that label's share); None without a predictions file."""
    if not predictions.exists():
        return None
    labels = Counter(json.loads(line)["pred"] for line in predictions.read_text(encoding="utf-8").splitlines() if line)
    return max(labels.values()) / sum(labels.values()) if labels else None


class Study:
    """The study of one built lab: its sweep file, its runs and its majority baselines."""

    def __init__(self, lab: Lab, device: str = "auto", progress: bool = True, say=print, detail=None):
        """`say`: the sweep's lines (a run's outcome); `detail`: a LabLog that receives the runs' training
        output (None: it is printed)."""
        self.lab, self.spec = lab, lab.spec.study
        self.device, self.progress, self.say, self.detail = device, progress, say, detail
        self.key = study_key(lab)
        self.root = lab.root / f"study-{self.key[:8]}"

    @property
    def sweep_path(self) -> Path:
        return self.root / "sweep.yaml"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def name(self) -> str:
        return f"lab-{self.lab.spec.name}-{self.key[:8]}"

    def model_dir(self, role: str) -> Path:
        return {"pretrained": self.lab.pretrained_dir, "control": self.lab.control_dir}[role]

    # ------------------------------------------------------------------------------------ the sweep

    def sweep_tree(self) -> dict:
        """The sweep file's content: a base run config, then the grid task x model x method x seed with
        each method's budget in `per_method`. Paths are absolute, so it runs from any folder."""
        study = self.spec
        model = {} if self.device == "auto" else {"device": self.device}
        return {
            "model": model,
            "data": {"data_dir": str(self.lab.data_dir), "eval_split": "test", "eval_languages": "all",
                     "max_dev_examples": study.max_dev_examples, "max_length": study.max_length},
            "train": {"batch_size": study.batch_size, "eval_every": study.eval_every,
                      "log_every": max(1, study.eval_every // 2)},
            "sweep": {
                "name": self.name,
                "description": f"xlpt lab study of lab {self.lab.spec.name!r} (key {self.lab.key[:12]}): trained on "
                               f"{self.lab.spec.base.name}, evaluated zero-shot on every language",
                "out": str(self.runs_dir),
                "grid": {"data.task": list(study.tasks),
                         "model.name": [str(self.model_dir(role)) for role in study.models],
                         "method.name": list(study.methods),
                         "train.seed": list(study.seeds)},
                "per_method": {name: {"train.learning_rate": budget.learning_rate, "train.max_steps": budget.steps,
                                      **budget.settings}
                               for name, budget in study.methods.items()},
            },
        }

    def write_sweep(self) -> Path:
        header = (f"# Generated by `xlpt lab` from the study section of lab {self.lab.spec.name!r}; rewritten on every\n"
                  "# `xlpt lab` run (copy it to change it). Rerun, inspect or extend with:\n"
                  f"#   xlpt sweep --config {self.sweep_path} --include-path {self.lab.tasks_dir} [--dry-run]\n")
        write_text_atomic(self.sweep_path, header + yaml.safe_dump(self.sweep_tree(), sort_keys=False, allow_unicode=True))
        return self.sweep_path

    def plan(self) -> list:
        """The sweep's runs (the lab's tasks registered first, as `--include-path` does)."""
        from xlpt.sweeps.grid import expand, parse_sweep
        from xlpt.tasks import include_path

        include_path(self.lab.tasks_dir)
        tree = load_yaml(self.sweep_path.read_text(encoding="utf-8"), str(self.sweep_path))
        return expand(parse_sweep(tree, self.sweep_path))

    # ----------------------------------------------------------------------------------- running

    def run(self) -> dict:
        """Write the sweep, run it (finished runs are skipped), collect: returns (and writes) study.json."""
        from xlpt.sweeps.runner import run_sweep

        started = time.perf_counter()
        self.write_sweep()
        plan = self.plan()
        self.say(f"study: {len(plan)} runs -> {self.runs_dir}", flush=True)
        methods = {run.id: run.method for run in plan}

        def say(*parts, **kwargs):  # the sweep's lines, in the lab spec's key names
            text = " ".join(str(part) for part in parts)
            method = next((m for run_id, m in methods.items() if run_id in text), None)
            self.say(lab_terms(text, method) if method else text, **kwargs)

        echo = redirect_stdout(self.detail.as_file()) if self.detail is not None else nullcontext()
        with echo:
            outcome = run_sweep(plan, self.runs_dir, self.name, progress=self.progress,
                                echo=self.progress or self.detail is not None, say=say)
        runs = [self.collect(run) for run in plan]
        study = {
            "key": self.key, "folder": str(self.root), "sweep": str(self.sweep_path), "runs_dir": str(self.runs_dir),
            "spec": self.spec.model_dump(mode="json"), "base": self.lab.spec.base.name,
            "languages": self.lab.spec.language_names,
            "majority": {task: self.majority(task) for task in self.spec.tasks},
            "overlap": self.overlap(),
            "runs": runs,
            "outcome": {"done_now": len(outcome.done), "already_done": len(outcome.skipped),
                        "busy": outcome.busy, "failed": outcome.failed},
            "seconds": time.perf_counter() - started,
        }
        _write_json(self.root / "study.json", study)
        return study

    def collect(self, run) -> dict:
        """One planned run's record: what it was and its score per language (None if it has no results)."""
        from xlpt.run_dir import RunDir, evaluation_key

        cfg = run.cfg
        role = next((r for r in MODELS if str(self.model_dir(r)) == cfg.model.name), cfg.model.name)
        record = {"id": run.id, "task": run.task, "method": run.method, "model": role, "seed": cfg.train.seed,
                  "learning_rate": cfg.learning_rate, "steps": cfg.train.max_steps, "scores": None}
        folder = RunDir(self.runs_dir / run.id)
        key = evaluation_key(cfg.data.eval_split, None, None, cfg.data.eval_split)  # the run's full evaluation
        results = folder.read_results(key)
        if results is None or results.get("run_id") != run.id:
            status = folder.read_status()
            record["error"] = lab_terms(str(status.get("error") or "no results"), run.method)
            return record
        if results.get("unfinished"):  # evaluated with --allow-unfinished: a checkpoint, not the run's result
            record["error"] = f"results.json is from an unfinished run ({results['unfinished']}); rerun the study"
            return record
        metric = results["metric"]
        record.update(metric=metric, scores={lang: m[metric] for lang, m in results["languages"].items()},
                      top_label_share={lang: top_label_share(folder.predictions_dir(key) / f"{lang}.jsonl")
                                       for lang in results["languages"]},
                      examples={lang: m["n"] for lang, m in results["languages"].items()},
                      best_step=results["training"].get("best_step"), notices=results.get("notices", []),
                      pipeline_check=results.get("pipeline_check"))
        return record

    def majority(self, task_name: str) -> dict:
        """The most frequent base training label (ties: the task's label order) and its test accuracy in
        every language, through the ordinary data layer (the rows the evaluation scores)."""
        from xlpt.data.sources import TaskData
        from xlpt.tasks import get_task

        task = get_task(task_name)
        data = TaskData(task, self.lab.data_dir)
        base = self.lab.spec.base.name
        counts = Counter(example.label for example in data.load(base, "train").examples)
        if not counts:
            raise ConfigError(f"{task_name}/{base}: no labeled training examples for the majority baseline")
        label = max(task.labels, key=lambda name: (counts.get(name, 0), -task.labels.index(name)))
        by_language = {}
        for lang in self.lab.spec.language_names:
            labels = [example.label for example in data.load(lang, "test").examples]
            by_language[lang] = {"accuracy": sum(x == label for x in labels) / len(labels), "n": len(labels)}
        return {"label": label, "train_counts": dict(counts), "by_language": by_language}

    def overlap(self) -> dict[str, float]:
        """Share of each derived language's test words (lab_topic, parallel) written exactly as in the base:
        the lexical overlap its anchors give (0 for a language without anchors in another script)."""
        _, languages = self.lab.languages()
        base = self.lab.spec.base.name
        shared = {}
        for name, rows in self.lab.test_rows().items():
            if name == base:
                continue
            flags = [flag for row in rows for flag in languages[name].shared_with(languages[base], row["text"].split(" "))]
            shared[name] = sum(flags) / len(flags)
        return shared

    # ----------------------------------------------------------------------------------- reporting

    def commands(self) -> dict[str, str]:
        spec_hint = f"--preset {self.lab.spec.name}" if self.lab.spec.name in ("tiny", "cpu", "gpu") else "--spec SPEC"
        out = self.lab.root.parent
        return {"the whole lab (build, study, report)": f"xlpt lab {spec_hint} --out {out}",
                "the study's runs": f"xlpt sweep --config {self.sweep_path} --include-path {self.lab.tasks_dir}",
                "the ordinary report": f"xlpt report --runs {self.runs_dir} --out {self.root / 'xlpt-report'}"}

    def report(self, study: dict, lab_summary: dict, ordinary: bool = True) -> dict:
        """`xlpt report` over the runs (with `ordinary`), then the lab report (report.md, report.json)."""
        from xlpt.lab.report import write_report

        started = time.perf_counter()
        extra = {"folder": str(self.root), "ordinary_report": self.ordinary_report() if ordinary else None}
        report = write_report(study, lab_summary, self.root, self.commands(), extra)
        self.say(f"study report: {self.root / 'report.md'} ({time.perf_counter() - started:.1f} s)", flush=True)
        return report

    def ordinary_report(self) -> dict:
        """`xlpt report` over the study's runs into xlpt-report/; a failure is recorded, not raised (the lab
        report stands on its own)."""
        from xlpt.reporting import ReportOptions, build_report

        out = self.root / "xlpt-report"
        try:
            built = build_report(self.runs_dir, out, [], ReportOptions())
        except ConfigError as err:
            return {"error": str(err)}
        return {"markdown": str(built.markdown_path), "html": str(built.html_path)}
