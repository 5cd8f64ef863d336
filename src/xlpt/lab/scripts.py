"""Letter inventories of the scripts a lab language can be written in.

Every word of a lab language is a sequence of consonant-vowel syllables. A script contributes an ordered
inventory of consonant letters and vowel letters; a language uses the first `consonants` and `vowels`
of them, so two languages in different scripts can have inventories of exactly the same size (and the
same number of possible syllables), which keeps scripts from differing in anything but their letters.

All letters are single lowercase code points that Unicode normalisation (NFC, NFKC) leaves unchanged,
and no letter appears in two scripts (Cyrillic "а" and Latin "a" look alike but are different
characters), so two scripts never share a subword unless a language keeps base words as anchors.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Script:
    name: str
    consonants: str
    vowels: str

    def letters(self, consonants: int, vowels: int) -> tuple[str, str]:
        """The first `consonants` consonant letters and `vowels` vowel letters."""
        return self.consonants[:consonants], self.vowels[:vowels]


SCRIPTS: dict[str, Script] = {script.name: script for script in (
    Script("latin", "ptkbdgmnlrsfvzhj", "aeiouy"),
    Script("greek", "πτκβδγμνλρσφζχθξ", "αεηιουω"),
    Script("cyrillic", "пткбдгмнлрсфвзжш", "аеиоуыэ"),
    Script("armenian", "պտկբդգմնլրսֆվզժշ", "աեիոըէ"),
    Script("georgian", "პტკბდგმნლრსფვზჟშ", "აეიოუ"),
    Script("hebrew", "פטכבדגמנלרסצקזשת", "אעהוי"),
)}
"""Script name -> inventory. The first 12 consonants and 5 vowels (the defaults) exist in every script."""

SCRIPT_NAMES = tuple(SCRIPTS)
