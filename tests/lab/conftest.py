"""Shared lab fixtures: small specs (built in memory, seconds) and their lexicon and languages."""

from __future__ import annotations

import pytest

from xlpt.lab.grammar import build_lexicon
from xlpt.lab.languages import build_languages
from xlpt.lab.spec import spec_from_dict


def make_spec(**sections):
    """A small valid spec; keyword sections replace the defaults (e.g. languages=[...], tokenizer={...})."""
    tree = {
        "base": {"name": "base", "script": "latin", "share": 0.5},
        "languages": [
            {"name": "greek", "script": "greek", "lexicon": "transliterate", "share": 0.3, "anchors": ["names"]},
            {"name": "armenian", "script": "armenian", "order": "SOV", "adposition": "post", "case_marking": True,
             "share": 0.15},
            {"name": "georgian", "script": "georgian", "syllables": [4, 5], "adjective": "after", "order": "VSO",
             "share": 0.05, "anchors": ["numbers", "places"]},
        ],
        "corpus": {"sentences": 3000, "dev_documents": 16},
        "tasks": {"train": 120, "dev": 40, "test": 60},
        "tokenizer": {"vocab_size": 600},
        "model": {"d_model": 32, "layers": 2, "heads": 2, "ffn_dim": 64, "max_positions": 128},
        "pretraining": {"steps": 20, "batch_size": 16, "checkpoint_every": 10, "max_length": 96},
        "retrieval": {"sentences": 40},
    }
    tree.update(sections)
    return spec_from_dict(tree, "test spec")


@pytest.fixture(scope="session")
def spec():
    return make_spec()


@pytest.fixture(scope="session")
def lexicon(spec):
    return build_lexicon(spec.grammar)


@pytest.fixture(scope="session")
def languages(spec, lexicon):
    return build_languages(spec, lexicon)
