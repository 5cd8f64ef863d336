"""Known quirks of the real data, counted (never silently fixed) once a split is loaded.

- duplicates: a pair / text / word sequence that already occurred earlier in the split (PAN-X has many).
- identical_pairs: PAWS-X translations where sentence1 == sentence2.
- i_after_o: an I-X tag after O or at sentence start (PAN-X ja/zh `#` space tokens).
- i_type_mismatch: I-X directly after B-Y/I-Y of another type.
- redirects: PAN-X sentences that are Wikipedia redirect lines (`WEITERLEITUNG ...`).
The only change ever made is `repair_iob`, and only when asked for: orphan I-X becomes B-X, counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from xlpt.data.examples import Example, TaggedSentence

# Localised MediaWiki redirect keywords that open redirect lines in PAN-X, spelled (and cased) as found
# there; matched exactly so that ordinary sentence-initial words ("redirección ...") are not counted.
REDIRECT_WORDS = frozenset(
    (
        "REDIRECT", "WEITERLEITUNG", "REDIRECCIÓN", "REDIRECCION", "REDIRECTION", "REDIRECIONAMENTO",
        "RINVIA", "DOORVERWIJZING", "AANSTUUR", "OHJAUS", "ÁTIRÁNYÍTÁS", "PERADRESAVIMAS", "PATRZ",
        "PRZEKIERUJ", "REDIRECTEAZA", "YÖNLENDİRME", "YÖNLENDİR", "BIRZUZENDU", "ALIH", "LENCONG",
        "İSTİQAMƏTLƏNDİRMƏ", "ΑΝΑΚΑΤΕΥΘΥΝΣΗ", "ПЕРЕНАПРАВЛЕНИЕ", "ПЕРЕНАПРАВЛЕННЯ", "ПРЕНАСОЧВАНЕ",
        "АЙДАУ", "تحويل", "تغییرمسیر", "تغییر_مسیر", "رجوع_مکرر", "הפניה", "अनुप्रेषित",
        "पुनर्प्रेषित", "पुनर्निर्देशन", "ਰੀਡਿਰੈਕਟ", "തിരിച്ചുവിടുക", "வழிமாற்று",
        "దారిమార్పు", "넘겨주기", "suuna", "đổi",
    )
)


def text_quirks(examples: Sequence[Example]) -> Counter:
    """Count of examples whose text fields repeat an earlier example's (single texts: SIB-200, user tasks)."""
    seen: set[tuple[str, ...]] = set()
    duplicates = 0
    for example in examples:
        key = tuple(example.fields.values())
        duplicates += key in seen
        seen.add(key)
    return Counter(duplicates=duplicates)


def pair_quirks(examples: Sequence[Example]) -> Counter:
    """Counts of duplicate pairs and pairs whose two sentences are identical."""
    counts = Counter(duplicates=0, identical_pairs=0)
    seen: set[tuple[str, ...]] = set()
    for example in examples:
        key = tuple(example.fields.values())
        counts["duplicates"] += key in seen
        seen.add(key)
        first, second = key[0], key[-1]
        counts["identical_pairs"] += first.strip() == second.strip()
    return counts


def tagging_quirks(sentences: Sequence[TaggedSentence], iob: bool) -> Counter:
    """Counts of duplicate sentences and, for IOB2 tag sets, orphan I- tags and redirect lines."""
    counts = Counter(duplicates=0)
    seen: set[tuple[str, ...]] = set()
    for sentence in sentences:
        counts["duplicates"] += sentence.words in seen
        seen.add(sentence.words)
    if iob:
        counts.update(i_after_o=0, i_type_mismatch=0, redirects=0)
        counts["redirects"] = sum(sentence.words[0] in REDIRECT_WORDS for sentence in sentences)
        counts.update(_iob_issues(sentence.tags for sentence in sentences if sentence.tags is not None))
    return counts


def _iob_issues(tag_sequences) -> Counter:
    """Orphan I- tags, from tag bigrams counted in C (sentence start counts as after O)."""
    bigrams: Counter = Counter()
    for tags in tag_sequences:
        bigrams.update(zip(("O",) + tags, tags))
    issues = Counter()
    for (previous, tag), n in bigrams.items():
        if tag.startswith("I-"):
            if previous == "O":
                issues["i_after_o"] += n
            elif previous[2:] != tag[2:]:
                issues["i_type_mismatch"] += n
    return issues


def repair_iob(sentences: Sequence[TaggedSentence]) -> tuple[list[TaggedSentence], int]:
    """Turn every orphan I-X (after O, at start, or after another type) into B-X. Returns (sentences, n)."""
    repaired, total = [], 0
    for sentence in sentences:
        if sentence.tags is None:
            repaired.append(sentence)
            continue
        tags, changed, previous = [], 0, "O"
        for tag in sentence.tags:
            if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
                tag, changed = "B-" + tag[2:], changed + 1
            tags.append(tag)
            previous = tag
        repaired.append(replace(sentence, tags=tuple(tags)) if changed else sentence)
        total += changed
    return repaired, total
