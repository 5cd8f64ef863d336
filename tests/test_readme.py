"""The README's commands work as written.

- The quick start is exactly two commands; the second is the command CI runs (.ci/run).
- Every `xlpt ...` command in the README and docs/ parses with the real command-line parser: no renamed
  option or command survives in the documentation.
- The block marked for this test (every step of the study, offline, on the real data with a tiny model)
  runs exactly as written, in a fresh folder laid out like a checkout: `configs/` beside it and the shared
  data at `../shared/data`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from xlpt.cli import build_parser, parse

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "<!-- tests/test_readme.py runs the next block -->"


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def xlpt_argv(command: str) -> list[str] | None:
    """The argument list of an `xlpt` command (also `torchrun ... -m xlpt ...`), None for anything else or
    for a command with a `...` placeholder."""
    words = shlex.split(command, comments=True)
    for stop in (">", "|", "&&"):
        if stop in words:
            words = words[: words.index(stop)]
    if "..." in words:
        return None
    if words[:1] == ["xlpt"]:
        return words[1:]
    if "-m" in words and words[words.index("-m") + 1 : words.index("-m") + 2] == ["xlpt"]:
        return words[words.index("-m") + 2 :]
    return None


def documented_commands() -> list[tuple[str, str]]:
    found = []
    for path in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for block in bash_blocks(path.read_text(encoding="utf-8")):
            for command in commands(block):
                for part in command.split("&&"):
                    if xlpt_argv(part.strip()) is not None:
                        found.append((path.name, part.strip()))
    return found


def test_quick_start_is_two_commands_and_the_second_is_what_ci_runs():
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1]
    install, tests = commands(bash_blocks(quick)[0])[:2]
    assert len(commands(bash_blocks(quick)[0])) == 2
    assert '-e ".[test]"' in install and install.endswith("xlpt demo")
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.strip().startswith("#")]
    assert ci[-1] == tests == "python -m pytest -q"


@pytest.mark.parametrize("where, command", documented_commands())
def test_documented_command_parses(where, command):
    argv = xlpt_argv(command)
    try:
        parse(build_parser(), argv)
    except SystemExit as exit:
        pytest.fail(f"{where}: `{command}` does not parse (exit {exit.code})")


def test_no_documented_command_lost_its_line_continuations():
    """A wrapped command whose backslash-newlines were lost reads as one line with runs of spaces where the
    breaks were; it still parses, so the check above cannot see it (a comment may be aligned with spaces)."""
    broken = [(path.name, line) for path in [README, *sorted((ROOT / "docs").glob("*.md"))]
              for block in bash_blocks(path.read_text(encoding="utf-8"))
              for line in block.splitlines() if re.search(r"\S {4,}\S", line.split(" #")[0])]
    assert not broken, broken


def test_the_demo_takes_the_same_time_everywhere_it_is_stated():
    lines = [line for path in (README, ROOT / "docs" / "lab.md") for line in path.read_text(encoding="utf-8").splitlines()
             if "demo" in line or "--preset tiny" in line]
    stated = {match for line in lines for match in re.findall(r"about ([\w.]+ minutes?)", line)}
    assert len(stated) == 1, stated


def test_there_are_documented_commands_to_check():
    assert len(documented_commands()) >= 20


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory, data_dir):
    """Run the marked block in <tmp>/work with <tmp>/shared/data -> the data folder in use."""
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "the README lost the block this test runs"
    block = bash_blocks(text.split(MARKER, 1)[1])[0]
    root = tmp_path_factory.mktemp("readme")
    (root / "shared").mkdir()
    (root / "shared" / "data").symlink_to(data_dir.resolve(), target_is_directory=True)
    work = root / "work"
    work.mkdir()
    (work / "configs").symlink_to(ROOT / "configs", target_is_directory=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=work, env=env, capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, f"README block failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return work, done.stdout


def test_walkthrough_trains_and_evaluates_every_language(walkthrough):
    work, _ = walkthrough
    for run in ("xnli-pt", "xnli-ft"):
        results = json.loads((work / "runs" / run / "results.json").read_text())
        assert len(results["languages"]) == 15
        assert all(m["n"] == 100 for m in results["languages"].values())
        assert results["pipeline_check"] is True  # the tiny model's numbers are flagged
        # data.max_train_examples=2000 draws a stratified sample: the file's first 2000 rows are all entailment
        counts = json.loads((work / "runs" / run / "train_summary.json").read_text())["train_label_counts"]
        assert set(counts) == {"entailment", "neutral", "contradiction"} and sum(counts.values()) == 2000
        assert max(counts.values()) - min(counts.values()) <= 1 + 2000 // 100  # each about a third
    extra = json.loads((work / "runs" / "xnli-pt" / "results-dev-langs-de+sw-limit50.json").read_text())
    assert sorted(extra["languages"]) == ["de", "sw"]


def test_walkthrough_predicts_exports_and_reports(walkthrough):
    work, stdout = walkthrough
    predicted = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"text_a"')]
    assert len(predicted) == 1 and predicted[0]["pred"] in ("entailment", "neutral", "contradiction")
    assert predicted[0]["pipeline_check"] is True  # a file taken out of context still says what made it
    assert json.loads((work / "exported" / "xnli-pt" / "adapter_config.json").read_text())["peft_type"] == "PROMPT_TUNING"
    tokenization = json.loads((work / "tok-xnli.json").read_text())
    assert tokenization and tokenization["pipeline_check"] is True
    report = (work / "report" / "report.md").read_text()
    assert "PIPELINE CHECK" in report.upper() or "pipeline check" in report
    assert "sweep sib200-xglm-564m: 9 runs" in stdout
    # the audit names the walkthrough's real protocol risks: capped evaluation, one seed, the tiny model
    audit = stdout.split("xlpt audit", 1)[-1] if "xlpt audit" in stdout else stdout
    assert "pipeline" in audit.lower() and "seed" in audit.lower()


def test_walkthrough_outputs_are_ignored_by_git(walkthrough):
    """Run in a checkout, the walkthrough must not leave files `git status` offers to commit."""
    work, _ = walkthrough
    written = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in work.iterdir() if entry.name != "configs")
    assert written
    done = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(written),
                          capture_output=True, text=True)
    if done.returncode not in (0, 1):
        pytest.skip(f"git check-ignore unavailable here ({done.stderr.strip()[:100]})")
    ignored = set(done.stdout.split())
    assert [name for name in written if name not in ignored] == []
