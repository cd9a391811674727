"""Built-in spam signals: what a help desk can tell from one message alone, without asking anyone.

Each check looks for one thing and, when it finds it, gives a signal of a fixed weight. The
weights are modest on purpose: no built-in signal reaches the default threshold (5) alone, so a
message lands in spam when several agree, or when an admin's rule says so. There are no network
lookups (blocklists, URL reputation): the desk works the same offline and tells nobody what it
receives. Pure: no session, no clock.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

UPSTREAM_FILTER = "upstream_filter"
LINK_MISMATCH = "link_mismatch"
HIDDEN_TEXT = "hidden_text"
IMPERSONATION = "impersonation"
MANY_LINKS = "many_links"
SPAM_PHRASES = "spam_phrases"
SHOUTING_SUBJECT = "shouting_subject"
MANY_RECIPIENTS = "many_recipients"
BULK = "bulk"
RULE = "rule"  # an admin's scoring rule; the signal names it

WEIGHTS = {
    # A filter before Okno (SpamAssassin, rspamd) said so: strong, but its header is only a claim.
    UPSTREAM_FILTER: 4.0,
    LINK_MISMATCH: 2.5,
    HIDDEN_TEXT: 2.5,
    IMPERSONATION: 2.5,
    MANY_LINKS: 2.0,
    SPAM_PHRASES: 1.0,  # per phrase found, at most MAX_PHRASES of them
    MANY_RECIPIENTS: 1.5,
    SHOUTING_SUBJECT: 1.0,
    BULK: 1.0,
}
MAX_PHRASES = 3
MIN_LINKS = 3
WORDS_PER_LINK = 10  # fewer words of text than this per link: the message is mostly links
MIN_HIDDEN_CHARACTERS = 200  # a hidden preheader is shorter; hidden filler to fool filters is longer
MIN_RECIPIENTS = 10
MIN_SHOUTED_LETTERS = 8
SCANNED_CHARACTERS = 200_000  # of text or HTML: a signal found at all is found early

# Lower-case, whole words; "ё" is read as "е". Phrases that almost only spam uses: a help desk whose
# customers do write like this allows them with a rule of negative weight, or switches words off there.
PHRASES = (
    "you have won", "you've won", "claim your prize", "lottery", "jackpot", "online casino", "casino bonus",
    "viagra", "cialis", "weight loss", "make money fast", "earn extra cash", "double your income",
    "guaranteed income", "guaranteed profit", "crypto investment", "bitcoin investment", "risk-free investment",
    "100% free", "no credit check", "act now", "limited time offer", "click here to claim", "dear friend",
    "increase your sales", "seo services", "first page of google", "rank your website", "hot singles",
    "adult dating", "million dollars", "inheritance fund",
    "вы выиграли", "ваш выигрыш", "получите приз", "онлайн казино", "онлайн-казино", "ставки на спорт",
    "заработок без вложений", "пассивный доход", "быстрый заработок", "гарантированный доход",
    "кредит без справок", "займ без отказа", "виагра", "похудение без диет", "раскрутка сайта",
    "продвижение сайта", "seo-продвижение", "увеличим продажи", "база email", "рассылка по базе",
    "только сегодня", "бесплатно и без регистрации", "инвестиции с гарантией",
)  # fmt: skip
_PHRASE = re.compile(r"(?<!\w)(" + "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in PHRASES) + r")(?!\w)")
_URL = re.compile(r"\bhttps?://[^\s<>\"'()\[\]]+|\bwww\.[^\s<>\"'()\[\]]+", re.IGNORECASE)
_ANCHOR = re.compile(r"<a\b[^>]*?\bhref=\"([^\"]*)\"[^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SHOWN_ADDRESS = re.compile(r"^(?:https?://|www\.)([a-z0-9-]+(?:\.[a-z0-9-]+)+)\S*$", re.IGNORECASE)
_ADDRESS_IN_NAME = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_WORD = re.compile(r"\w{2,}")
_SHOUTED_MARKS = re.compile(r"[!$€₽]{3,}")
# Second-level labels under which a country's registrable names sit (example.co.uk, shop.com.ru).
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "ac", "edu", "msk", "spb"})


@dataclass(frozen=True)
class Specimen:
    """One inbound message as the spam filter reads it, whatever its channel.

    ``html`` is the sanitised HTML (its links); ``html_source`` the HTML as sent, whose styles the
    sanitiser removes and hidden text needs. ``upstream_headers`` are a filter's verdict headers
    (``X-Spam-*``) as they came. ``own_domains`` and ``own_names`` are the desk's own mail domains
    and display names: a stranger calling themselves by them impersonates the desk.
    """

    sender: str = ""  # the address, lower-cased
    sender_name: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    html_source: str = ""
    recipients: int = 0
    upstream_headers: tuple[tuple[str, str], ...] = ()
    bulk: bool = False
    own_domains: frozenset[str] = frozenset()
    own_names: frozenset[str] = frozenset()

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2].strip().lower()


@dataclass(frozen=True)
class Signal:
    """One reason for the score: a code, its weight, and the admin's rule when a rule gave it."""

    code: str
    weight: float
    rule_id: int | None = None


def builtin(specimen: Specimen) -> Iterator[Signal]:
    """Every built-in signal the message gives, in a fixed order."""
    if upstream_says_spam(specimen.upstream_headers):
        yield Signal(UPSTREAM_FILTER, WEIGHTS[UPSTREAM_FILTER])
    if link_mismatch(specimen.html):
        yield Signal(LINK_MISMATCH, WEIGHTS[LINK_MISMATCH])
    if hidden_characters(specimen.html_source) >= MIN_HIDDEN_CHARACTERS:
        yield Signal(HIDDEN_TEXT, WEIGHTS[HIDDEN_TEXT])
    if impersonates(specimen):
        yield Signal(IMPERSONATION, WEIGHTS[IMPERSONATION])
    if mostly_links(specimen.text, specimen.html):
        yield Signal(MANY_LINKS, WEIGHTS[MANY_LINKS])
    found = phrases(f"{specimen.subject}\n{specimen.text}")
    if found:
        yield Signal(SPAM_PHRASES, WEIGHTS[SPAM_PHRASES] * min(len(found), MAX_PHRASES))
    if specimen.recipients >= MIN_RECIPIENTS:
        yield Signal(MANY_RECIPIENTS, WEIGHTS[MANY_RECIPIENTS])
    if shouting(specimen.subject):
        yield Signal(SHOUTING_SUBJECT, WEIGHTS[SHOUTING_SUBJECT])
    if specimen.bulk:
        yield Signal(BULK, WEIGHTS[BULK])


def upstream_says_spam(headers: tuple[tuple[str, str], ...]) -> bool:
    """``X-Spam-Flag: YES`` (SpamAssassin), ``X-Spam-Status: Yes, score=…``, ``X-Spam: Yes`` (rspamd).

    Only a "yes" counts: a "no" proves nothing, since anyone can write that header.
    """
    for name, value in headers:
        if name.lower() in {"x-spam-flag", "x-spam-status", "x-spam"} and value.strip().lower().startswith("yes"):
            return True
    return False


def site(host: str) -> str:
    """The registrable part of a host name, near enough without the public suffix list."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _anchors(safe_html: str) -> list[tuple[str, str]]:
    """(href, the link's text) of every link in sanitised HTML."""
    return [
        (html.unescape(href).strip(), html.unescape(_TAG.sub("", inner)).strip())
        for href, inner in _ANCHOR.findall(safe_html[:SCANNED_CHARACTERS])
    ]


def link_mismatch(safe_html: str) -> bool:
    """A link that shows one web address and leads to another site: the phisher's oldest trick."""
    for href, shown in _anchors(safe_html):
        written = _SHOWN_ADDRESS.match(shown)
        if written is None or not href.lower().startswith(("http://", "https://")):
            continue
        target = urlsplit(href).hostname
        if target and site(written.group(1)) != site(target):
            return True
    return False


def mostly_links(text: str, safe_html: str) -> bool:
    """Several links and little text around them."""
    links = {url.rstrip(".,;:!?/").lower() for url in _URL.findall(text[:SCANNED_CHARACTERS])}
    links |= {href.rstrip("/").lower() for href, _ in _anchors(safe_html) if href.lower().startswith("http")}
    if len(links) < MIN_LINKS:
        return False
    words = len(_WORD.findall(_URL.sub(" ", text[:SCANNED_CHARACTERS])))
    return words < WORDS_PER_LINK * len(links)


def phrases(text: str) -> set[str]:
    """The known spam phrases in the text, each counted once."""
    folded = text[:SCANNED_CHARACTERS].casefold().replace("ё", "е").replace("\u2019", "'")
    return {" ".join(found.split()) for found in _PHRASE.findall(folded)}


def shouting(subject: str) -> bool:
    """A subject in capitals, or with a run of !!! or $$$."""
    letters = [c for c in subject if c.isalpha()]
    capitals = sum(1 for c in letters if c.isupper())
    loud = len(letters) >= MIN_SHOUTED_LETTERS and capitals >= 0.8 * len(letters)
    return loud or _SHOUTED_MARKS.search(subject) is not None


def impersonates(specimen: Specimen) -> bool:
    """A display name naming another domain's address, or the desk's own name or domain from a stranger."""
    name = specimen.sender_name.casefold().strip()
    domain = specimen.sender_domain
    if not name or not domain:
        return False
    named = _ADDRESS_IN_NAME.search(name)
    if named is not None and site(named.group(1)) != site(domain):
        return True
    own_sites = {site(d) for d in specimen.own_domains}
    if site(domain) in own_sites:
        return False
    return name in {n.casefold().strip() for n in specimen.own_names} or any(s in name for s in own_sites)


class _HiddenText(HTMLParser):
    """Counts the characters of text inside elements styled not to show."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
    UNSEEN = frozenset({"head", "title", "style", "script"})  # never shown, but no trick either
    HIDING = re.compile(
        r"display\s*:\s*none|visibility\s*:\s*hidden|(?:font-size|opacity|max-height)\s*:\s*0(?:\.0*)?\s*"
        r"(?:px|pt|em|rem|%)?\s*(?:;|!|$)",
        re.IGNORECASE,
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool, bool]] = []  # (tag, hides, unseen)
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        style = " ".join(value or "" for key, value in attrs if key == "style")
        hides = self.HIDING.search(style) is not None or any(key == "hidden" for key, _ in attrs)
        self.open.append((tag, hides, tag in self.UNSEEN))

    def handle_endtag(self, tag: str) -> None:
        # Up to the matching start tag: unclosed <p> and <li> inside it end with it.
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        if any(unseen for _, _, unseen in self.open):
            return
        if any(hides for _, hides, _ in self.open):
            self.hidden += len("".join(data.split()))


def hidden_characters(html_source: str) -> int:
    """How many characters of text the HTML (as sent) hides from its reader."""
    if not html_source:
        return 0
    parser = _HiddenText()
    parser.feed(html_source[:SCANNED_CHARACTERS])
    parser.close()
    return parser.hidden
