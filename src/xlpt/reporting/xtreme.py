"""`xlpt report --protocol xtreme`: the runs in XTREME's shape, with every difference from XTREME marked.

A number can be set beside a published XTREME number only when it was computed like one: the same
languages, the same test sets, the same metric. This view therefore shows, per XTREME task, one table
shaped like XTREME's (rows = systems, columns = XTREME's languages in XTREME's order, then the average),
with XTREME's metric as the headline and xlpt's own metric in the rows below it, and marks in the cell
every way a number differs from XTREME's protocol:

* dev† — scored on dev because the language has no labeled test set here (never in the XTREME average);
* partial‡ — scored on a partial copy of the test set (`languages.<l>.partial` in results.json, e.g.
  UDPOS de without HDT) (never in the XTREME average);
* capped§ — scored on a sample of the test set (never in the XTREME average);
* subset‖ — rows that translate training rows were removed before scoring (`excluded_parallel`);
* absent — an XTREME language no run has (e.g. PAN-X th, missing from the shared data);
* no metric¶ — results.json predates the key that holds XTREME's metric.

The "avg" column is XTREME's: the mean over XTREME's languages of the per-language means, English
included, as XTREME's `evaluate.py` averages; here only languages scored on their full test set count,
and the cell says how many of XTREME's languages that is. "avg, all shown" averages every XTREME language
with a number whatever its split and says which splits it mixes. Languages outside XTREME's set are left
out of both and listed.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.errors import ConfigError
from xlpt.reporting import banner
from xlpt.reporting.aggregate import system_labels, system_sort_key
from xlpt.reporting.collect import RunRecord, System, collect_runs, find_run_dirs
from xlpt.reporting.document import Banner, Heading, Paragraph, TableBlock, render_markdown
from xlpt.reporting.exports import write_csv
from xlpt.reporting.split_mix import mix_text
from xlpt.reporting.tables import Cell, Table

SOURCE = ("XTREME, Hu et al. 2020 (arXiv:2003.11080); languages, their order and metrics as in "
          "google-research/xtreme evaluate.py (TASK2LANGS, METRIC_FUNCTION)")


@dataclass(frozen=True)
class XtremeTask:
    name: str
    languages: tuple[str, ...]
    """XTREME's evaluation languages, in the order of XTREME's evaluate.py."""
    headline: str
    """results.json per-language key holding XTREME's metric."""
    headline_name: str
    secondary: str | None = None
    """A second per-language key shown below the headline rows (xlpt's own metric)."""
    secondary_name: str | None = None


XTREME_TASKS = {
    "xnli": XtremeTask("xnli", tuple("ar bg de el en es fr hi ru sw th tr ur vi zh".split()), "accuracy", "accuracy"),
    "pawsx": XtremeTask("pawsx", tuple("de en es fr ja ko zh".split()), "accuracy", "accuracy"),
    # seqeval's default (conlleval) F1, which XTREME's evaluate.py and run_tag.py report; strict IOB2 F1 beside it.
    "panx": XtremeTask("panx", tuple(
        "ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo my zh kk "
        "tr et fi hu".split()), "f1_xtreme", "F1 (seqeval default, conlleval)", "f1", "strict F1 (IOB2)"),
    # XTREME scores UDPOS with the same seqeval F1 over UPOS tags; word accuracy (xlpt's metric) beside it.
    "udpos": XtremeTask("udpos", tuple(
        "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh".split()),
        "f1_xtreme", "F1 (seqeval default over UPOS tags)", "accuracy", "word accuracy"),
}
MARKS = {"dev": "dev†", "partial": "partial‡", "capped": "capped§", "excluded": "subset‖",
         "no_metric": "no metric¶"}
MARK_NOTES = {
    "dev": "dev†: scored on dev, not test (no labeled test set here); not in the XTREME average",
    "partial": "partial‡: scored on a partial copy of the test set; not in the XTREME average",
    "capped": "capped§: scored on a sample of the test set; not in the XTREME average",
    "excluded": ("subset‖: rows that translate training rows were removed before scoring "
                 "(`excluded_parallel`); not in the XTREME average"),
    "no_metric": "no metric¶: results.json has no {key} (written before xlpt stored XTREME's metric)",
}


@dataclass
class XtremeCell:
    """One system on one language (or the average): the mean over seeds and what sets it apart."""

    value: float | None
    marks: tuple[str, ...] = ()
    seeds: int = 0
    splits: tuple[str, ...] = ()

    @property
    def full_test(self) -> bool:
        return self.value is not None and not self.marks


@dataclass
class XtremeTable:
    task: XtremeTask
    systems: list[System]
    labels: dict[System, str]
    cells: dict[tuple[str, System, str], XtremeCell] = field(default_factory=dict)
    """(metric key, system, language) -> cell."""
    extra: list[str] = field(default_factory=list)
    """Evaluated languages outside XTREME's set (left out of every average)."""
    absent: list[str] = field(default_factory=list)
    """XTREME languages no run of the task has."""
    partial_notes: dict[str, str] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    pipeline_check: bool = False
    seeds: dict[System, int] = field(default_factory=dict)

    def metrics(self) -> list[tuple[str, str]]:
        found = [(self.task.headline, self.task.headline_name)]
        if self.task.secondary:
            found.append((self.task.secondary, self.task.secondary_name))
        return found

    def average(self, key: str, system: System, full_test_only: bool) -> tuple[float | None, list[str]]:
        """Mean over XTREME languages of the cell means, and the languages it covers."""
        langs = [lang for lang in self.task.languages
                 if (cell := self.cells.get((key, system, lang))) and cell.value is not None
                 and (cell.full_test or not full_test_only)]
        values = [self.cells[(key, system, lang)].value for lang in langs]
        return (sum(values) / len(values) if values else None), langs


@dataclass
class XtremeView:
    tables: list[XtremeTable]
    other_tasks: dict[str, int]
    """Tasks that are not XTREME tasks -> number of runs left out."""
    markdown_path: Path
    csv_paths: list[Path]
    records: list[RunRecord]
    """Every run read (for the pipeline-check banner)."""

    @property
    def runs(self) -> int:
        return len(self.records)


def build_xtreme_view(runs_dir: Path, out_dir: Path, decimals: int = 1) -> XtremeView:
    """Read every run's results.json (test) under `runs_dir`; write `xtreme.md` and `tables/xtreme_<task>.csv`."""
    runs_dir, out_dir = Path(runs_dir), Path(out_dir)
    if not runs_dir.is_dir():
        raise ConfigError(f"--runs {runs_dir} is not a directory")
    if not find_run_dirs(runs_dir):
        raise ConfigError(f"no run directories under {runs_dir} (looked for results.json and run markers)")
    collection = collect_runs(runs_dir, "test")
    by_task: dict[str, list[RunRecord]] = defaultdict(list)
    for run in collection.runs:
        by_task[run.task].append(run)
    tables = [xtreme_table(XTREME_TASKS[task], by_task[task]) for task in XTREME_TASKS if task in by_task]
    others = {task: len(runs) for task, runs in sorted(by_task.items()) if task not in XTREME_TASKS}
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_paths = [write_table_csv(out_dir / "tables" / f"xtreme_{t.task.name}.csv", t) for t in tables]
    markdown = out_dir / "xtreme.md"
    blocks = _blocks(tables, others, decimals, collection, runs_dir)
    markdown.write_text(render_markdown(blocks), encoding="utf-8")
    return XtremeView(tables, others, markdown, csv_paths, collection.runs)


def xtreme_table(task: XtremeTask, runs: list[RunRecord]) -> XtremeTable:
    """Group the task's runs by system and fill every (metric, system, XTREME language) cell."""
    by_system: dict[System, list[RunRecord]] = defaultdict(list)
    for run in runs:
        by_system[run.system].append(run)
    systems = sorted(by_system, key=system_sort_key)
    table = XtremeTable(task, systems, system_labels(systems))
    entries = {id(run): _language_entries(run) for run in runs}
    evaluated = {lang for run in runs for lang in run.scores}
    table.extra = sorted(evaluated - set(task.languages))
    table.absent = [lang for lang in task.languages if lang not in evaluated]
    table.sources = {run.source_language for run in runs}
    table.pipeline_check = any(run.pipeline_check for run in runs)
    for system in systems:
        table.seeds[system] = len(by_system[system])
        for key, _ in table.metrics():
            for lang in task.languages:
                seeds = [entries[id(run)][lang] for run in by_system[system] if lang in entries[id(run)]]
                table.cells[(key, system, lang)] = _cell(seeds, key)
    for run in runs:
        for lang, entry in entries[id(run)].items():
            if isinstance(entry.get("partial"), str):
                table.partial_notes[lang] = entry["partial"]
    return table


def _language_entries(run: RunRecord) -> dict[str, dict]:
    """results.json's per-language objects (collect_runs keeps only the headline metric)."""
    try:
        data = json.loads((run.path / "results.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}  # read moments ago by collect_runs; gone since: the cells say "absent"
    languages = data.get("languages") if isinstance(data, dict) else None
    return {lang: entry for lang, entry in (languages or {}).items() if isinstance(entry, dict)}


def _cell(seeds: list[dict], key: str) -> XtremeCell:
    if not seeds:
        return XtremeCell(None)
    values = [entry.get(key) for entry in seeds]
    marks = []
    splits = tuple(sorted({str(entry.get("split") or "test") for entry in seeds}))
    if any(split != "test" for split in splits):
        marks.append("dev")
    if any(isinstance(entry.get("partial"), str) for entry in seeds):
        marks.append("partial")
    if any(entry.get("capped") is True for entry in seeds):
        marks.append("capped")
    if any(_positive(entry.get("excluded_parallel")) for entry in seeds):
        marks.append("excluded")
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if len(numbers) < len(values):
        marks.append("no_metric")
    value = sum(numbers) / len(numbers) if numbers and len(numbers) == len(values) else None
    return XtremeCell(value, tuple(marks), len(seeds), splits)


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def cell_text(cell: XtremeCell, decimals: int) -> str:
    """'61.2', '61.2 dev†', '74.3 partial‡', '— absent'."""
    if cell.seeds == 0:
        return "— absent"
    number = "—" if cell.value is None else f"{100 * cell.value:.{decimals}f}"
    return " ".join([number] + [MARKS[m] for m in cell.marks])


def display_table(table: XtremeTable, decimals: int = 1) -> Table:
    """Rows = systems (headline metric, then the second metric), columns = XTREME's languages + averages."""
    task = table.task
    header = ["System", "Metric"] + list(task.languages) + ["avg", "avg, all shown"]
    title = (f"{task.name} (XTREME protocol): {task.headline_name} (%) on test sets, XTREME's {len(task.languages)} "
             "languages in XTREME's order" + (f"; {task.secondary_name} below" if task.secondary else ""))
    out = Table(title, header)
    marks_used: set[str] = set()
    for index, (key, name) in enumerate(table.metrics()):
        for position, system in enumerate(table.systems):
            cells = [table.cells[(key, system, lang)] for lang in task.languages]
            marks_used.update(m for c in cells for m in c.marks)
            label = f"{table.labels[system]} [{table.seeds[system]} seed{'s' if table.seeds[system] != 1 else ''}]"
            row = [label, name] + [cell_text(c, decimals) for c in cells]
            row += [_average_text(table, key, system, decimals, full) for full in (True, False)]
            out.add_row([Cell(text) for text in row], rule=index > 0 and position == 0)
    out.footnotes = footnotes(table, marks_used)
    return out


def _average_text(table: XtremeTable, key: str, system: System, decimals: int, full_test_only: bool) -> str:
    value, langs = table.average(key, system, full_test_only)
    total = len(table.task.languages)
    if value is None:
        return f"n/a (0 of {total})"
    text = f"{100 * value:.{decimals}f}"
    if full_test_only:
        return text if len(langs) == total else f"{text} ({len(langs)} of {total} on full test)"
    mix = mix_text({lang: _split_kind(table.cells[(key, system, lang)]) for lang in langs})
    return f"{text} ({len(langs)} of {total}" + (f"; mixed: {mix})" if mix else ")")


def _split_kind(cell: XtremeCell) -> str:
    kind = ", ".join(cell.splits)
    return f"partial {kind}" if "partial" in cell.marks else kind


def footnotes(table: XtremeTable, marks_used: set[str]) -> list[str]:
    task = table.task
    notes = [banner.SHORT] if table.pipeline_check else []
    notes.append(f"Headline: {task.headline_name} (results.json `{task.headline}`), XTREME's metric for {task.name}"
                 + (f"; below it {task.secondary_name} (`{task.secondary}`)." if task.secondary else ".")
                 + " Cells: mean over seeds, in percent.")
    notes.append("avg: XTREME's average, the mean over XTREME's languages (English included, as XTREME's evaluate.py "
                 "does) of the per-language means, over languages scored on their full test set only; "
                 "\"k of N on full test\" when fewer than all N count. avg, all shown: every XTREME language "
                 "with a number, whatever its split (the mix is stated); not comparable to XTREME.")
    for mark in MARKS:
        if mark in marks_used:
            notes.append(MARK_NOTES[mark].format(key=task.headline) + ": " + ", ".join(_langs_with(table, mark)) + ".")
    for lang, what in sorted(table.partial_notes.items()):
        notes.append(f"{lang}: {what}")
    if table.absent:
        notes.append(f"absent: {len(table.absent)} of XTREME's {len(task.languages)} languages have no result in any "
                     f"run ({', '.join(table.absent)}); they count in no average.")
    if table.extra:
        notes.append(f"Left out (not among XTREME's {len(task.languages)} {task.name} languages, in no average): "
                     f"{', '.join(table.extra)}.")
    if table.sources != {"en"}:
        notes.append(f"Trained on {', '.join(sorted(table.sources))}, not English alone as in XTREME's zero-shot "
                     "setting: not comparable to published XTREME numbers.")
    notes.append(f"Source: {SOURCE}.")
    return notes


def summary_line(table: XtremeTable) -> str:
    """'panx: 40 XTREME languages; 1 absent (th); marked: dev† 38, partial‡ 1; 8 extra left out (az, ...)'."""
    task = table.task
    parts = [f"{task.name}: {len(task.languages)} XTREME languages, headline {task.headline_name}"]
    if table.absent:
        parts.append(f"{len(table.absent)} absent ({', '.join(table.absent)})")
    marked = [f"{MARKS[m]} {len(_langs_with(table, m))}" for m in MARKS if _langs_with(table, m)]
    if marked:
        parts.append("marked: " + ", ".join(marked))
    if table.extra:
        parts.append(f"{len(table.extra)} extra left out ({', '.join(table.extra)})")
    return "; ".join(parts)


def _langs_with(table: XtremeTable, mark: str) -> list[str]:
    return [lang for lang in table.task.languages
            if any(mark in cell.marks for (_, _, other), cell in table.cells.items() if other == lang)]


def write_table_csv(path: Path, table: XtremeTable) -> Path:
    """Long form, full precision: one row per (system, metric, language or average)."""
    header = ["task", "system", "metric", "language", "value_pct", "seeds", "splits", "marks", "in_xtreme_average"]
    rows = []
    for key, _ in table.metrics():
        for system in table.systems:
            label = table.labels[system]
            _, counted = table.average(key, system, True)
            for lang in table.task.languages:
                cell = table.cells[(key, system, lang)]
                value = None if cell.value is None else 100 * cell.value
                marks = " ".join(cell.marks) if cell.seeds else "absent"
                rows.append([table.task.name, label, key, lang, value, cell.seeds, " ".join(cell.splits), marks,
                             lang in counted])
            for which, full in (("avg", True), ("avg_all_shown", False)):
                value, langs = table.average(key, system, full)
                rows.append([table.task.name, label, key, which, None if value is None else 100 * value,
                             table.seeds[system], "", f"{len(langs)} of {len(table.task.languages)}", ""])
    write_csv(path, header, rows)
    return path


def _blocks(tables: list[XtremeTable], others: dict[str, int], decimals: int, collection, runs_dir: Path) -> list:
    blocks: list = [Heading("xlpt report: XTREME protocol", 1)]
    lines = banner.banner_lines(collection.runs, runs_dir)
    if lines:
        blocks.append(Banner(banner.banner_title(collection.runs), tuple(lines)))
    blocks += [Paragraph(f"{len(collection.runs)} runs read (results.json, test); {len(collection.skipped)} skipped, "
                        f"{len(collection.incomplete)} incomplete"
                        + (f", {len(collection.unfinished)} evaluated unfinished (--allow-unfinished: left out)"
                           if collection.unfinished else "") + ". One table per XTREME task: XTREME's languages "
                        "in XTREME's order, XTREME's metric first; every cell that differs from XTREME's protocol "
                        "is marked and explained under its table.")]
    if not tables:
        blocks.append(Paragraph("n/a: no run of an XTREME task (xnli, pawsx, panx, udpos)."))
    for table in tables:
        blocks += [Heading(f"XTREME: {table.task.name}"), TableBlock(display_table(table, decimals))]
    if others:
        listed = ", ".join(f"{task} ({n} runs)" for task, n in others.items())
        blocks.append(Paragraph(f"Not XTREME tasks, left out of this view: {listed}."))
    return blocks
