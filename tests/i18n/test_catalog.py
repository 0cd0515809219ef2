"""The English catalog is complete, compiled and safe to drop into the pages.

When this fails after new strings were added, update the catalog:
    DEBUG=1 .venv/bin/campagne makemessages -l en --ignore=.venv --ignore=tests \\
        --ignore=bench --ignore=build --ignore=var --ignore=docs
then translate the new entries in campagne/locale/en/LC_MESSAGES/django.po, and run
    DEBUG=1 .venv/bin/campagne compilemessages --ignore=.venv --ignore=build --ignore=var
"""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.i18n.po import Entry, read_po

REPO = Path(settings.BASE_DIR)
CATALOG = REPO / "campagne" / "locale" / "en" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOG.with_suffix(".mo")
# %(name)s, %s, %d, %% and {name}: what the code interpolates into the translation.
PLACEHOLDER = re.compile(r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[-#0 +]*\d*[sdifr]|%%|\{\w*\}")


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return read_po(CATALOG)


def messages(entries: list[Entry]) -> list[Entry]:
    return [entry for entry in entries if entry.msgid]


def describe(entry: Entry) -> str:
    return f"{CATALOG.name}:{entry.line} {entry.msgid[:60]!r}"


def test_the_catalog_has_translations(entries):
    assert len(messages(entries)) > 500


def test_header_declares_english_utf8_and_two_plural_forms(entries):
    header = next(entry for entry in entries if entry.msgid == "")
    assert "Language: en\n" in header.msgstr
    assert "charset=UTF-8" in header.msgstr
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstr


def test_every_entry_is_translated(entries):
    untranslated = [
        describe(entry)
        for entry in messages(entries)
        if not all(text.strip() for text in entry.translations())
        or (entry.msgid_plural and sorted(entry.msgstr_plural) != [0, 1])
    ]
    assert untranslated == []


def test_no_entry_is_fuzzy(entries):
    # A fuzzy entry is a guess by msgmerge; gettext ignores it, so the page stays French.
    assert [describe(entry) for entry in entries if "fuzzy" in entry.flags] == []


def test_placeholders_are_kept(entries):
    # English has the same two plural forms as French: singular to singular, plural to plural.
    wrong = []
    for entry in messages(entries):
        sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        for source, text in zip(sources, entry.translations(), strict=True):
            if set(PLACEHOLDER.findall(source)) != set(PLACEHOLDER.findall(text)):
                wrong.append(describe(entry))
    assert wrong == []


def test_translations_add_no_straight_double_quote(entries):
    # Translations land inside HTML attributes written with double quotes (aria-label="…");
    # use “ ” instead.
    wrong = [
        describe(entry)
        for entry in messages(entries)
        if '"' not in entry.msgid and any('"' in text for text in entry.translations())
    ]
    assert wrong == []


def test_compiled_catalog_matches_the_po(entries):
    # The .mo is committed (CI may lack gettext); it must be rebuilt after each .po edit.
    with COMPILED.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in messages(entries):
        if entry.msgid_plural:
            got = [compiled.ngettext(entry.msgid, entry.msgid_plural, n) for n in (1, 2)]
            want = [entry.msgstr_plural[0], entry.msgstr_plural[1]]
        else:
            got, want = [compiled.gettext(entry.msgid)], [entry.msgstr]
        if got != want:
            stale.append(describe(entry))
    assert stale == []


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_every_string_of_the_source_is_in_the_catalog(entries, tmp_path):
    # Extract the strings again from a copy of the package, so the real catalog is untouched.
    copy = tmp_path / "campagne"
    shutil.copytree(
        REPO / "campagne",
        copy,
        ignore=lambda folder, names: [
            name
            for name in names
            if not (Path(folder, name).is_dir() or name.endswith((".py", ".html", ".txt")))
            or name == "__pycache__"
        ],
    )
    before = CATALOG.read_bytes()
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-m", "django", "makemessages", "-l", "en", "--no-obsolete"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "DEBUG": "1", "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    assert CATALOG.read_bytes() == before, "makemessages wrote to the real catalog"
    fresh = read_po(copy / "locale" / "en" / "LC_MESSAGES" / "django.po")
    known = {(entry.msgctxt, entry.msgid) for entry in entries}
    missing = sorted(
        entry.msgid[:60] for entry in messages(fresh) if (entry.msgctxt, entry.msgid) not in known
    )
    assert not missing, "Not in the catalog; run makemessages and translate:\n" + "\n".join(missing)
