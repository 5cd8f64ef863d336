"""`xlpt report` through the real dispatcher: files written, user errors as one line, byte-identical reruns."""

from __future__ import annotations

from xlpt.cli import COMMAND_MODULES, main


def _small_runs(runs):
    for seed in (1, 2):
        runs.write(f"pt-s{seed}", seed=seed, scores={"en": 0.60 + 0.01 * seed, "de": 0.50, "sw": 0.45}, n=60)
        runs.write(f"ft-s{seed}", method="full_finetune", seed=seed, scores={"en": 0.70, "de": 0.48, "sw": 0.40}, n=60)
    (runs.root / "corrupt").mkdir()
    (runs.root / "corrupt" / "results.json").write_text("", encoding="utf-8")


def test_report_command_writes_everything_and_is_deterministic(runs, tmp_path, capsys, tokenization_writer):
    assert "report" in COMMAND_MODULES
    _small_runs(runs)
    tok = tokenization_writer(tmp_path / "tok.json", "xnli", {"en": (1.2, 0.5), "de": (1.5, 0.05), "sw": (2.2, 0.001)})
    args = ["report", "--runs", str(runs.root), "--tokenization", str(tok), "--resamples", "200"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    out, err = capsys.readouterr()
    assert "4 runs, 1 skipped, 0 incomplete" in out and "corrupt" in err
    for name in ("report.md", "report.html", "results_long.csv", "tables/xnli.csv", "tables/xnli.tex",
                 "tables/gaps.csv", "bars_xnli.png"):
        assert (tmp_path / "a" / name).stat().st_size > 0, name
    markdown = (tmp_path / "a" / "report.md").read_text()
    assert "200 resamples" in markdown and "| skipped | corrupt |" in markdown
    # Only 2 target languages: the correlation is reported as not interpretable, not crashed.
    assert "not interpretable (n = 2 < 8 languages)" in markdown
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    for name in ("report.md", "report.html", "tables/xnli.tex", "tables/gaps.csv", "bars_xnli.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_user_errors_are_one_line_without_traceback(tmp_path, capsys, runs):
    assert main(["report", "--runs", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", "--runs", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no run directories" in capsys.readouterr().err
    runs.write("pt", scores={"en": 0.6})
    code = main(["report", "--runs", str(runs.root), "--out", str(tmp_path / "out"),
                 "--tokenization", str(tmp_path / "missing.json")])
    err = capsys.readouterr().err
    assert code == 2 and "tokenization file not found" in err and "Traceback" not in err
