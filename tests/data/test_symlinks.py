"""Data folders assembled from symbolic links read like real ones; what cannot be read is a problem.

Link farms are built in tmp_path from links to the real shared XNLI and SIB-200 files (nothing is copied)."""

from __future__ import annotations

import os

import pytest

from xlpt.data.layout import resolve, scan
from xlpt.data.sources import TaskData
from xlpt.errors import DataFormatError
from xlpt.tasks import get_task


def _farm(data_dir, tmp_path, task: str, real: list[str], linked: list[str]):
    """tmp_path/<task>/<lang> is a real folder of file links (real) or one link to the shared folder (linked)."""
    for lang in real:
        for source in sorted((data_dir / task / lang).iterdir()):
            if source.is_dir():
                (tmp_path / task / lang / source.name).mkdir(parents=True)
                for item in sorted(source.iterdir()):
                    (tmp_path / task / lang / source.name / item.name).symlink_to(item)
    for lang in linked:
        (tmp_path / task).mkdir(exist_ok=True)
        (tmp_path / task / lang).symlink_to(data_dir / task / lang, target_is_directory=True)
    return tmp_path


def _problems(found) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {os.path.basename(item.path): (item.problem, item.langs) for item in found.problems}


def test_linked_language_folders_read_like_real_ones_in_the_shared_layout(data_dir, tmp_path):
    root = _farm(data_dir, tmp_path, "xnli", real=["en", "de"], linked=["fr", "bg"])
    farm, shared = resolve(get_task("xnli"), root), resolve(get_task("xnli"), data_dir)
    assert sorted(farm.sources) == ["bg", "de", "en", "fr"] and not farm.contract.problems
    for lang in farm.sources:
        assert {split: source.describe() for split, source in farm.sources[lang].items()} == \
               {split: source.describe() for split, source in shared.sources[lang].items()}
    assert farm.sources["bg"]["test"].label_source.lang == "en"  # reconstruction still finds the linked donor


def test_linked_source_folders_inside_a_language_are_followed(data_dir, tmp_path):
    (tmp_path / "xnli" / "de").mkdir(parents=True)
    for source in ("xtreme-mesh", "hf-hkunlp"):
        (tmp_path / "xnli" / "de" / source).symlink_to(data_dir / "xnli" / "de" / source)
    found = resolve(get_task("xnli"), tmp_path)
    assert {split: s.origin for split, s in found.sources["de"].items()} == {"dev": "xtreme-mesh", "test": "hf-hkunlp"}
    assert not found.contract.problems


def test_linked_language_folders_of_a_data_path_task_are_read(data_dir, tmp_path):
    # os.walk does not follow links: SIB-200's linked languages used to vanish without a word
    base = tmp_path / "sib200"
    base.mkdir()
    for lang in ("eng_Latn", "deu_Latn"):
        (base / lang).symlink_to(data_dir / "sib200" / lang, target_is_directory=True)
    (base / "fra_Latn" / "sib200-github").mkdir(parents=True)
    for item in (data_dir / "sib200" / "fra_Latn" / "sib200-github").iterdir():
        (base / "fra_Latn" / "sib200-github" / item.name).symlink_to(item)
    data = TaskData(get_task("sib200"), tmp_path)
    assert data.languages() == ["deu_Latn", "eng_Latn", "fra_Latn"]
    assert len(data.load("deu_Latn", "test").examples) == len(TaskData(get_task("sib200"), data_dir).load("deu_Latn", "test"))


def test_a_broken_link_is_a_problem_of_its_language(data_dir, tmp_path):
    root = _farm(data_dir, tmp_path, "xnli", real=["en"], linked=["fr"])
    (root / "xnli" / "de").symlink_to(tmp_path / "nowhere" / "de", target_is_directory=True)
    (root / "xnli" / "en" / "hf-hkunlp" / "dev.jsonl").symlink_to(tmp_path / "nowhere" / "dev.jsonl")
    found = scan(get_task("xnli"), root)
    problems = _problems(found)
    assert problems["de"][0].startswith("cannot be read: broken symbolic link") and problems["de"][1] == ("de",)
    assert "broken symbolic link" in problems["dev.jsonl"][0] and problems["dev.jsonl"][1] == ("en",)
    data_problem = pytest.raises(DataFormatError, TaskData(get_task("xnli"), root).load, "en", "test")
    assert "broken symbolic link" in str(data_problem.value)  # en is unusable, never silently smaller
    assert TaskData(get_task("xnli"), root).load("fr", "test").examples  # the other languages still read


def test_a_link_back_to_an_ancestor_is_a_cycle_reported_once_not_followed(data_dir, tmp_path):
    base = tmp_path / "sib200"
    base.mkdir()
    (base / "eng_Latn").symlink_to(data_dir / "sib200" / "eng_Latn", target_is_directory=True)
    (base / "deu_Latn" / "sib200-github").mkdir(parents=True)
    (base / "deu_Latn" / "sib200-github" / "again").symlink_to(base / "deu_Latn", target_is_directory=True)
    (base / "deu_Latn" / "loop").symlink_to(base / "deu_Latn" / "loop")  # a link to itself: ELOOP
    found = scan(get_task("sib200"), tmp_path)
    problems = _problems(found)
    assert problems["again"][0].startswith("cannot be read: symbolic link cycle") and problems["again"][1] == ("deu_Latn",)
    assert "symbolic link loop" in problems["loop"][0]
    assert {f.lang for f in found.files} == {"eng_Latn"}
    with pytest.raises(DataFormatError, match="symbolic link"):
        TaskData(get_task("sib200"), tmp_path).load("deu_Latn", "test")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: file permissions do not stop root from reading, so no-permission "
                           "entries cannot be made")
def test_folders_and_files_without_permission_are_problems(data_dir, tmp_path):
    root = _farm(data_dir, tmp_path, "xnli", real=["en"], linked=["fr"])
    locked = root / "xnli" / "de" / "xtreme-mesh"
    locked.mkdir(parents=True)
    (locked / "dev-de.tsv").write_text("p\th\tneutral\n")
    secret = root / "xnli" / "en" / "private.tsv"
    secret.write_text("p\th\tneutral\n")
    locked.chmod(0)
    secret.chmod(0)
    try:
        problems = _problems(scan(get_task("xnli"), root))
    finally:
        locked.chmod(0o755)
        secret.chmod(0o644)
    assert problems["xtreme-mesh"] == ("cannot be read: folder without permission to list or enter it", ("de",))
    assert problems["private.tsv"] == ("cannot be read: file without permission to read it", ("en",))
