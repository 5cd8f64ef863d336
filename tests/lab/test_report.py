"""The lab report's pure parts on the presets' real specs: factors and one-factor contrasts. (The report
built from real runs, with its claims, is tested in test_study.py.)"""

from xlpt.cli import lab as lab_cli
from xlpt.lab.report import contrasts, factor_values
from xlpt.lab.spec import load_spec


def preset_languages(name):
    spec = load_spec(lab_cli.PRESET_DIR / f"{name}.yaml")
    return {s.name: s.model_dump(mode="json") for s in spec.all_languages}, spec.base.name


def by_pair(found):
    return {tuple(c["languages"]): (c["factor"], tuple(c["values"])) for c in found}


def test_the_cpu_presets_contrasts_are_exactly_its_one_factor_pairs():
    languages, base = preset_languages("cpu")
    assert by_pair(contrasts(languages, base)) == {
        ("greek", "armenian"): ("word order", ("SVO", "SOV, postpositions")),
        ("greek", "cyrillic"): ("share", ("0.20", "0.05")),
        ("cyrillic", "georgian"): ("word shapes", ("transliterate", "generate 5-7 syllables")),
    }  # greek-georgian and armenian-cyrillic differ in two factors: no contrast


def test_the_gpu_preset_adds_lexical_overlap_and_a_never_pretrained_language():
    languages, base = preset_languages("gpu")
    pairs = by_pair(contrasts(languages, base))
    assert pairs[("cyrillic", "hebrew")] == ("share", ("0.05", "0.00"))
    assert factor_values(languages["overlap"], languages[base])["anchors"] == "names, numbers, places + 30% of lexemes"
    # vso keeps the base's script (shared letters): a second factor against every other SVO/VSO language
    assert factor_values(languages["vso"], languages[base])["script"] == "latin (the base's)"
    assert not any("vso" in pair for pair in pairs)


def test_the_tiny_presets_contrast_is_share():
    languages, base = preset_languages("tiny")
    assert by_pair(contrasts(languages, base)) == {("greek", "unseen"): ("share", ("0.50", "0.00"))}
