"""The quirk matrix's fixtures: one tiny random model per architecture, a tiny task of the user's kind, and
short real runs through `xlpt train`, each made once per session and shared by every check.

Every architecture in `xlpt.models.tiny_architectures.TINY_MODEL_TYPES` (xglm, gpt2, bloom, llama, mistral,
qwen2, qwen3, gemma, gemma2, gemma3_text, gpt_neox, phi3, falcon, olmo2) is a 2-layer, 64-wide model with a
tokenizer of its family's kind trained in-process (its real start-token policy), saved and loaded through
`from_pretrained` like a real checkpoint. The task is a text-classification YAML in a folder outside the
repository (`--include-path`), with a few rows per split: what a new user writes. Runs take 2 steps.

Results. When $XLPT_QUIRK_MATRIX names a file, each check appends its outcome per (architecture, check) to
FILE.jsonl (pytest-xdist workers are separate processes) and at the end of the session the controller writes
the table to FILE (the notes of issue #18 keep it).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from xlpt.models.tiny_architectures import TINY_MODEL_TYPES

ARCHITECTURES = TINY_MODEL_TYPES
TRAINED_METHODS = ("prompt_tuning", "prefix_tuning", "lora", "full_finetune", "zero_shot")
PEFT_METHODS = ("prompt_tuning", "prefix_tuning", "lora")

TASK_YAML = """
name: quirktopics
family: text_classification
description: Three toy topics, for the architecture quirk matrix.
labels: [science, travel, sports]
metric: accuracy
data:
  path: "{lang}/{split}.tsv"
  format: tsv
  columns: {text: sentence, label: topic, id: sid}
  train_lang: en
template: "{text} Topic:"
label_words: {science: " science", travel: " travel", sports: " sports"}
zero_shot:
  format: "{text} {question}: {word}"
  words: {en: [Topic, science, travel, sports]}
"""
WORDS = {"science": ["atom", "cell", "energy"], "travel": ["train", "hotel", "airport"],
         "sports": ["goal", "match", "team"]}
SPLITS = {"train": 12, "dev": 6, "test": 6}
FAST = ["model.device=cpu", "data.max_dev_examples=6", "train.max_steps=2", "train.eval_every=2",
        "train.batch_size=4", "train.log_every=1"]
METHOD_SETTINGS = {"prompt_tuning": ["method.prompt_length=4"], "prefix_tuning": ["method.prompt_length=4"],
                   "lora": ["method.lora_r=4"], "full_finetune": ["train.learning_rate=0.001"], "zero_shot": []}
"""Each method with its defaults (LoRA: method.lora_targets=auto, the architecture table's targets)."""



def _results_file() -> Path | None:
    """Where each test process appends its outcomes (pytest-xdist workers are separate processes)."""
    target = os.environ.get("XLPT_QUIRK_MATRIX")
    return Path(target + ".jsonl") if target else None

def topic_rows(n: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    labels = sorted(WORDS)
    return [(f"s{seed}-{i}", f"the {rng.choice(WORDS[labels[i % 3]])} was {rng.choice(['big', 'new'])}",
             labels[i % 3]) for i in range(n)]


@pytest.fixture(scope="module", autouse=True)
def _task_registry_restored():
    """Each quirk module leaves the task registry as it found it: under pytest-xdist a worker runs other
    modules after this one, and a test listing the valid tasks must not see `quirktopics`."""
    from xlpt.tasks import registry

    registry._builtin()
    saved = dict(registry._TASKS)
    yield
    registry._TASKS.clear()
    registry._TASKS.update(saved)


@pytest.fixture(scope="session")
def quirk_task(tmp_path_factory):
    """(tasks folder, data folder) of the tiny user task `quirktopics`; the task registry is restored after
    the session (a test listing tasks must not see it)."""
    from xlpt.tasks import registry

    registry._builtin()
    saved = dict(registry._TASKS)
    root = tmp_path_factory.mktemp("quirk-task")
    tasks, data = root / "tasks", root / "data"
    tasks.mkdir()
    (tasks / "quirktopics.yaml").write_text(TASK_YAML, encoding="utf-8")
    for seed, (split, n) in enumerate(SPLITS.items()):
        path = data / "en" / f"{split}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["sid\tsentence\ttopic"] + ["\t".join(row) for row in topic_rows(n, seed)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    yield tasks, data
    registry._TASKS.clear()
    registry._TASKS.update(saved)


@pytest.fixture(scope="session")
def tiny_architecture(tmp_path_factory):
    """tiny_architecture(model_type) -> the folder of a tiny random model of that type (built once)."""
    from xlpt.models.tiny_architectures import build_tiny_architecture

    built: dict[str, Path] = {}

    def make(model_type: str) -> Path:
        if model_type not in built:
            built[model_type] = build_tiny_architecture(model_type, tmp_path_factory.mktemp(f"tiny-{model_type}"))
        return built[model_type]

    return make


class Runs:
    """Short real `xlpt train --evaluate` runs, one per (architecture, method, settings), made on first use."""

    def __init__(self, root: Path, task, tiny_architecture):
        self.root, self.task, self.model = root, task, tiny_architecture
        self.done: dict[tuple, tuple[int, Path, str]] = {}

    def train(self, model_type: str, method: str, *settings: str) -> tuple[int, Path, str]:
        """(exit code, run dir, stderr) of `xlpt train --evaluate` on the tiny task."""
        import contextlib
        import io

        from xlpt.cli import main

        key = (model_type, method, settings)
        if key not in self.done:
            tasks, data = self.task
            out = self.root / f"{model_type}-{method}-{len(self.done)}"
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(["train", "--task", "quirktopics", "--include-path", str(tasks), "--data-dir", str(data),
                             "--model", str(self.model(model_type)), "--method", method, "--out", str(out),
                             "--evaluate", "--quiet", *FAST, *METHOD_SETTINGS[method], *settings])
            self.done[key] = code, out, err.getvalue()
        return self.done[key]


@pytest.fixture(scope="session")
def runs(tmp_path_factory, quirk_task, tiny_architecture) -> Runs:
    return Runs(tmp_path_factory.mktemp("quirk-runs"), quirk_task, tiny_architecture)


@pytest.fixture
def record(request):
    """record(architecture, check): the test's outcome goes into the matrix (pass, or the failure's first line)."""
    keys = []
    yield lambda architecture, check: keys.append((architecture, check))
    report, results = getattr(request.node, "rep_call", None), _results_file()
    if report is None or results is None:
        return
    if report.passed:
        outcome = "xpass" if hasattr(report, "wasxfail") else "pass"
    elif report.skipped:
        outcome = f"xfail: {report.wasxfail}" if hasattr(report, "wasxfail") else "skipped: " + _first_line(report)
    else:
        outcome = "FAIL: " + _first_line(report)
    with open(results, "a", encoding="utf-8") as out:
        for architecture, check in keys:
            out.write(json.dumps([architecture, check, outcome]) + "\n")


def _first_line(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return " ".join(text.split())[:200]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


def pytest_sessionstart(session):
    results = _results_file()
    if results is not None and not hasattr(session.config, "workerinput"):  # the controller (or the only process)
        results.unlink(missing_ok=True)


def pytest_sessionfinish(session, exitstatus):
    """The controller turns every process's outcomes into the table ($XLPT_QUIRK_MATRIX)."""
    results = _results_file()
    if results is None or hasattr(session.config, "workerinput") or not results.exists():
        return
    matrix = {(arch, check): outcome for arch, check, outcome in
              map(json.loads, results.read_text(encoding="utf-8").splitlines())}
    Path(os.environ["XLPT_QUIRK_MATRIX"]).write_text(matrix_table(matrix), encoding="utf-8")
    results.unlink()


def matrix_table(matrix: dict[tuple[str, str], str]) -> str:
    """A markdown table: one row per architecture, one column per check; failures listed below it."""
    checks = list(dict.fromkeys(check for _, check in matrix))
    symbol = {"pass": "pass"}
    lines = ["| architecture | " + " | ".join(checks) + " |", "|---" * (len(checks) + 1) + "|"]
    notes = []
    for arch in dict.fromkeys([*ARCHITECTURES, *(arch for arch, _ in matrix)]):
        cells = []
        for check in checks:
            outcome = matrix.get((arch, check), "-")
            cells.append(symbol.get(outcome, outcome.split(":")[0]))
            if outcome not in ("pass", "-"):
                notes.append(f"- {arch} x {check}: {outcome}")
        lines.append(f"| {arch} | " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", *notes]) + "\n"


@pytest.fixture(scope="session")
def task_model(tiny_architecture):
    """task_model(model_type, method, *settings) -> (task model in eval mode, tokenizer, config), built once
    per arguments on the default task (its verbalizer's label words), with the method applied."""
    from xlpt.config import load_config
    from xlpt.models.build import load_task_model

    built = {}

    def make(model_type: str, method: str, *settings: str):
        key = (model_type, method, settings)
        if key not in built:
            cfg = load_config(None, [f"model.name={tiny_architecture(model_type)}", f"method.name={method}",
                                     "model.device=cpu", *METHOD_SETTINGS[method], *settings])
            model, tokenizer = load_task_model(cfg, device="cpu")
            built[key] = model.eval(), tokenizer, cfg
        return built[key]

    return make
