"""Every string of the workspace is translated into Russian, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from okno.web.i18n import CATALOGS, Gettext

PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_russian_catalog_is_complete_and_consistent() -> None:
    template = read_po((CATALOGS / "messages.pot").open("rb"))
    russian = read_po((CATALOGS / "ru" / "LC_MESSAGES" / "messages.po").open("rb"), locale="ru")
    assert not russian.fuzzy
    for message in template:
        if not message.id:
            continue
        translated = russian.get(message.id, context=message.context)
        assert translated is not None and translated.string, f"untranslated: {message.id!r}"
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = translated.string if isinstance(translated.string, tuple) else (translated.string,)
        expected = set(PLACEHOLDER.findall(sources[-1]))
        for target in targets:
            assert set(PLACEHOLDER.findall(target)) == expected, (message.id, target)


def test_templates_use_no_untranslated_literals() -> None:
    """A crude guard: visible text in templates goes through _(), pgettext() or ngettext()."""
    templates = Path(CATALOGS).parent / "templates"
    for path in templates.rglob("*.html"):
        text = re.sub(r"\{[{%#].*?[}%#]\}", "", path.read_text(), flags=re.S)
        text = re.sub(r"<(script|style|kbd)\b.*?</\1>", "", text, flags=re.S)
        words = [w for w in re.findall(r">([^<>]+)<", text) if re.search(r"[A-Za-zА-Яа-я]{3,}", w)]
        assert all(w.strip(" ·") == "Okno" for w in words), (path.name, words)


def test_russian_plural_forms() -> None:
    words = Gettext("ru")
    forms = [words.ngettext("%(num)s ticket", "%(num)s tickets", n) for n in (1, 3, 5, 21, 111)]
    assert forms == ["1 обращение", "3 обращения", "5 обращений", "21 обращение", "111 обращений"]
    assert words.pgettext("status", "Pending") == "Ожидает ответа" and words.gettext("Pending") == "Ожидают ответа"
