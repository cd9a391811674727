"""Translations (Babel catalogs) and locale-aware formatting for the web pages.

Catalogs are read from the ``.po`` files at start-up and compiled in memory, so there is no
build step to forget. English is the source language.
"""

from __future__ import annotations

import functools
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_timedelta
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from babel.units import format_unit


def N_(message: str) -> str:
    """Marks a string for translation where it is shown, not here (the catalog extractor finds it)."""
    return message


LOCALES = ("en", "ru")
DEFAULT_LOCALE = "en"
CATALOGS = Path(__file__).parent / "translations"


@functools.cache
def translations(locale: str) -> NullTranslations:
    po = CATALOGS / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


class Gettext:
    """gettext and ngettext for one locale, with named placeholders: _("Hi %(name)s", name=...)."""

    def __init__(self, locale: str) -> None:
        self.catalog = translations(locale)

    def gettext(self, message: str, **values: object) -> str:
        text = str(self.catalog.gettext(message))
        return text % values if values else text

    def pgettext(self, context: str, message: str, **values: object) -> str:
        """For words that translate differently by context (a status "Pending" vs the view "Pending")."""
        text = str(self.catalog.pgettext(context, message))
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = str(self.catalog.ngettext(singular, plural, n))
        return text % {"num": n, **values}


def negotiate(accept_language: str | None) -> str:
    """The best of our locales for a browser's Accept-Language header."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LOCALES:
            return code
    return DEFAULT_LOCALE


class Formatter:
    """Dates, durations and numbers in one user's locale and time zone."""

    def __init__(self, locale: str, time_zone: str) -> None:
        self.locale = Locale.parse(locale)
        self.zone = ZoneInfo(time_zone)

    def instant(self, value: datetime | str, format: str = "short") -> str:
        """An instant (or one written in ISO 8601, as event payloads hold them) in the user's zone."""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return str(format_datetime(moment.astimezone(self.zone), format=format, locale=self.locale))

    def day(self, value: datetime) -> str:
        """The calendar day of an instant in the user's time zone ("30 Nov 2026", "30 нояб. 2026 г.")."""
        return str(format_date(value.astimezone(self.zone).date(), format="medium", locale=self.locale))

    def ago(self, value: datetime, now: datetime) -> str:
        return str(format_timedelta(value - now, add_direction=True, locale=self.locale))

    def duration(self, seconds: int | float) -> str:
        """A length of time in its two largest units, short: "2 hr 30 min", "1 дн. 4 ч", "45 sec"."""
        left = int(abs(seconds))
        if left < 60:
            return str(format_unit(left, "duration-second", length="short", locale=self.locale))
        parts: list[str] = []
        for unit, size in (("duration-day", 86400), ("duration-hour", 3600), ("duration-minute", 60)):
            if left >= size or (parts and unit == "duration-minute"):
                count, left = divmod(left, size)
                if count:
                    parts.append(str(format_unit(count, unit, length="short", locale=self.locale)))
            if len(parts) == 2:
                break
        return str(format_list(parts, style="unit-narrow", locale=self.locale))

    def number(self, value: int | float) -> str:
        return str(format_decimal(value, locale=self.locale))

    def language(self, code: str) -> str:
        """A language code as a name in this locale ("ru" is "Russian", or "русский" in Russian)."""
        try:
            name = Locale.parse(code).get_display_name(self.locale)
        except (ValueError, UnknownLocaleError):
            return code
        return str(name) if name else code

    def size(self, size_bytes: int) -> str:
        """A file size for people: 820 B, 12.3 kB, 25 MB (steps of 1024, so a 25 MiB limit reads "25 MB")."""
        steps = (("digital-gigabyte", 1 << 30), ("digital-megabyte", 1 << 20), ("digital-kilobyte", 1 << 10))
        for unit, scale in steps:
            if size_bytes >= scale:
                return str(format_unit(size_bytes / scale, unit, length="short", format="#,##0.#", locale=self.locale))
        if self.locale.language == "en":
            return f"{format_decimal(size_bytes, locale=self.locale)} B"  # CLDR's short form says "byte"
        return str(format_unit(size_bytes, "digital-byte", length="short", locale=self.locale))
