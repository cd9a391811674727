"""The spam filter's score, case by case: built-in signals, admins' rules, the decision, the mail corpus."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from okno.channels.email.parse import parse_email
from okno.channels.email.processing import specimen_of_mail
from okno.channels.spam import signals
from okno.channels.spam.scoring import (
    DEFAULT_THRESHOLD,
    Outcome,
    RuleAction,
    RuleField,
    RuleMatch,
    RuleSpec,
    Specimen,
    Verdict,
    decide,
    judge,
    rule_matches,
)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
OWN = {"own_domains": frozenset({"okno.test"}), "own_names": frozenset({"Okno Support"})}
TIMEOUT = 0.05

# The spam filter's verdict on the corpus (tests/data/mail): the spam cases with their reasons; every
# other mail, hand-made to be what customers send, stays below the threshold.
SPAM_CORPUS: dict[str, tuple[float, list[str], Outcome]] = {
    "73_spam_upstream_flagged": (5.0, ["upstream_filter", "spam_phrases"], Outcome.spam),
    "74_spam_phishing_link": (5.0, ["link_mismatch", "impersonation"], Outcome.spam),
    "75_spam_hidden_text_ru": (6.5, ["hidden_text", "spam_phrases", "shouting_subject"], Outcome.spam),
    "76_spam_seo_links": (6.5, ["many_links", "spam_phrases", "many_recipients"], Outcome.spam),
    # A tracked link and a list header: two signals, and still no spam. The weights are modest on purpose.
    "77_newsletter_not_spam": (3.5, ["link_mismatch", "bulk"], Outcome.clean),
    "78_spam_impersonating_desk": (5.0, ["link_mismatch", "impersonation"], Outcome.spam),
}


def corpus_verdict(name: str) -> Verdict:
    parsed = parse_email((CORPUS / f"{name}.eml").read_bytes())
    specimen = specimen_of_mail(parsed, **OWN)
    return judge(specimen, [], timeout=TIMEOUT)


@pytest.mark.parametrize("name", sorted(path.stem for path in CORPUS.glob("*.eml")))
def test_the_corpus_scores_as_expected(name: str) -> None:
    verdict = corpus_verdict(name)
    outcome = decide(verdict, threshold=DEFAULT_THRESHOLD, known_sender=False)
    if name in SPAM_CORPUS:
        score, codes, expected = SPAM_CORPUS[name]
        assert (verdict.score, [s.code for s in verdict.signals], outcome) == (score, codes, expected)
    else:
        assert outcome == Outcome.clean and verdict.score <= 1.0, [(s.code, s.weight) for s in verdict.signals]


@pytest.mark.parametrize(
    ("headers", "flagged"),
    [
        ((("X-Spam-Flag", "YES"),), True),
        ((("x-spam-flag", " yes "),), True),
        ((("X-Spam-Flag", "NO"),), False),
        ((("X-Spam-Status", "Yes, score=7.9 required=5.0 tests=BAYES_99"),), True),
        ((("X-Spam-Status", "No, score=-0.1 required=5.0"),), False),
        ((("X-Spam", "Yes"),), True),
        ((("X-Spam-Score", "12.5"),), False),  # a number alone: whose scale?
        ((), False),
    ],
)
def test_an_upstream_filter_counts_only_when_it_says_yes(headers: tuple[tuple[str, str], ...], flagged: bool) -> None:
    assert signals.upstream_says_spam(headers) is flagged


@pytest.mark.parametrize(
    ("html", "mismatch"),
    [
        ('<a href="http://evil.example/login">https://www.paypal.com/signin</a>', True),
        ('<a href="https://evil.co.uk/x">www.bbc.co.uk</a>', True),
        ('<a href="https://news.bbc.co.uk/a">www.bbc.co.uk</a>', False),
        ('<a href="https://www.shop.example/orders/1">https://shop.example/orders</a>', False),
        ('<a href="https://evil.example/">Click here</a>', False),  # no address shown, nothing claimed
        ('<a href="https://evil.example/">invoice.pdf</a>', False),
        ('<a href="mailto:x@evil.example">https://shop.example</a>', False),
        ('<a href="https://evil.example"><b>https://bank.example</b></a>', True),
        ('<a href="https://a.example/?x=1&amp;y=2">https://a.example</a>', False),
    ],
)
def test_a_link_showing_one_site_and_leading_to_another(html: str, mismatch: bool) -> None:
    assert signals.link_mismatch(html) is mismatch


FILLER = "word " * 60  # 240 letters


@pytest.mark.parametrize(
    ("html", "hidden"),
    [
        (f'<div style="display:none">{FILLER}</div><p>Hello</p>', 240),
        (f'<div style="DISPLAY: none !important"><p>{FILLER}</p></div>', 240),
        (f'<span style="visibility:hidden">{FILLER}</span>', 240),
        (f'<span style="font-size:0px;">{FILLER}</span>', 240),
        (f'<span style="font-size: 0">{FILLER}</span>', 240),
        (f'<span style="font-size:10px">{FILLER}</span>', 0),
        (f"<div hidden><p>{FILLER}<p>more</div><p>{FILLER}</p>", 244),  # unclosed <p> ends with its <div>
        ('<div style="display:none">Three new features inside.</div>', 23),  # a preheader
        (f"<style>.x{{display:none}} {FILLER}</style><p>Hi</p>", 0),
        (f'<div style="display:none"><br><img src="x">{FILLER}</div>', 240),
        ("", 0),
    ],
)
def test_hidden_text_is_counted_from_the_html_as_sent(html: str, hidden: int) -> None:
    assert signals.hidden_characters(html) == hidden


@pytest.mark.parametrize(
    ("sender", "name", "impersonating"),
    [
        ("x@evil.example", "service@paypal.com", True),
        ("anna@mail.shop.example", "anna@shop.example", False),  # the same site
        ("desk@gmail.example", "Okno Support", True),  # the desk's own name from a stranger
        ("anna@okno.test", "Okno Support", False),  # from the desk's own domain
        ("x@evil.example", "okno.test billing", True),
        ("anna@customer.example", "Anna Petrova", False),
        ("anna@customer.example", "", False),
    ],
)
def test_a_display_name_that_impersonates(sender: str, name: str, impersonating: bool) -> None:
    assert signals.impersonates(Specimen(sender=sender, sender_name=name, **OWN)) is impersonating


LINKS = "https://a.example/1 https://a.example/2 http://b.example/3"


@pytest.mark.parametrize(
    ("text", "html", "mostly"),
    [
        (f"Look: {LINKS}", "", True),
        (f"{LINKS} " + "word " * 29, "", True),
        (f"{LINKS} " + "word " * 30, "", False),
        ("https://a.example/1 https://a.example/1/ www.a.example/1", "", False),  # the same link is one link
        ("Two links: https://a.example https://b.example", "", False),
        ("See", '<a href="https://a.example/1">x</a><a href="https://a.example/2">y</a>'
                '<a href="https://c.example">z</a>', True),
    ],
)  # fmt: skip
def test_many_links_and_little_text(text: str, html: str, mostly: bool) -> None:
    assert signals.mostly_links(text, html) is mostly


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Congratulations, YOU HAVE WON!", {"you have won"}),
        ("you’ve   won a prize", {"you've won"}),
        ("Вы выиграли! Пассивный доход и ставки на спорт", {"вы выиграли", "пассивный доход", "ставки на спорт"}),
        ("Гарантированный доход, ёлки", {"гарантированный доход"}),
        ("the lotteryticket", set()),
        ("My order did not arrive", set()),
    ],
)
def test_known_spam_phrases_in_english_and_russian(text: str, found: set[str]) -> None:
    assert signals.phrases(text) == found


def test_phrases_count_at_most_three_times() -> None:
    text = "you have won the lottery jackpot, claim your prize, act now"
    verdict = judge(Specimen(text=text), [], timeout=TIMEOUT)
    assert [(s.code, s.weight) for s in verdict.signals] == [("spam_phrases", 3.0)]


@pytest.mark.parametrize(
    ("subject", "loud"),
    [
        ("URGENT PAYMENT NEEDED", True),
        ("ОПЛАТА НЕ ПРОШЛА СРОЧНО", True),
        ("SLA and VAT", False),
        ("Order #123: HELP", False),
        ("Cheap watches!!!", True),
        ("Earn $$$ today", True),
        ("Where is my order?", False),
    ],
)
def test_a_shouting_subject(subject: str, loud: bool) -> None:
    assert signals.shouting(subject) is loud


def test_recipients_and_bulk() -> None:
    assert judge(Specimen(recipients=9), [], timeout=TIMEOUT).score == 0
    assert judge(Specimen(recipients=10), [], timeout=TIMEOUT).score == 1.5
    assert judge(Specimen(bulk=True), [], timeout=TIMEOUT).score == 1.0


MAIL = Specimen(
    sender="anna@mail.customer.example",
    subject="Refund for order 42",
    text="Please refund the duplicate charge.",
)


@pytest.mark.parametrize(
    ("field", "match", "value", "matches"),
    [
        (RuleField.sender, RuleMatch.equals, "ANNA@mail.customer.example", True),
        (RuleField.sender, RuleMatch.equals, "anna@customer.example", False),
        (RuleField.sender, RuleMatch.contains, "anna@", True),
        (RuleField.domain, RuleMatch.equals, "customer.example", True),  # and its subdomains
        (RuleField.domain, RuleMatch.equals, "mail.customer.example", True),
        (RuleField.domain, RuleMatch.equals, "er.example", False),
        (RuleField.domain, RuleMatch.contains, "customer", True),
        (RuleField.subject, RuleMatch.contains, "REFUND", True),
        (RuleField.subject, RuleMatch.equals, "refund for order 42", True),
        (RuleField.subject, RuleMatch.regex, r"order \d+$", True),
        (RuleField.subject, RuleMatch.regex, r"^order", False),
        (RuleField.body, RuleMatch.contains, "duplicate charge", True),
        (RuleField.body, RuleMatch.regex, r"dup\w+", True),
        (RuleField.body, RuleMatch.contains, "  ", False),  # nothing to look for matches nothing
    ],
)
def test_rules_match_their_field(field: RuleField, match: RuleMatch, value: str, matches: bool) -> None:
    rule = RuleSpec(id=1, field=field, match=match, value=value, weight=1.0)
    assert rule_matches(rule, MAIL, timeout=TIMEOUT) is matches


def test_a_slow_pattern_runs_out_of_time_and_matches_nothing() -> None:
    rule = RuleSpec(id=1, field=RuleField.body, match=RuleMatch.regex, value=r"(a|aa)+$", weight=5.0)
    started = time.monotonic()
    assert not rule_matches(rule, Specimen(text="a" * 5000 + "!"), timeout=0.02)
    assert time.monotonic() - started < 2


def rule(rule_id: int, action: RuleAction, weight: float = 0.0, value: str = "customer.example") -> RuleSpec:
    return RuleSpec(
        id=rule_id, field=RuleField.domain, match=RuleMatch.equals, value=value, action=action, weight=weight
    )


def test_scoring_rules_add_their_weights_and_name_themselves() -> None:
    rules = [rule(1, RuleAction.score, 3.5), rule(2, RuleAction.score, -1.0), rule(3, RuleAction.score, 9, "x.example")]
    verdict = judge(MAIL, rules, timeout=TIMEOUT)
    assert verdict.score == 2.5
    assert [(s.code, s.weight, s.rule_id) for s in verdict.signals] == [("rule", 3.5, 1), ("rule", -1.0, 2)]


@pytest.mark.parametrize(
    ("rules", "known", "outcome"),
    [
        ([rule(1, RuleAction.score, 5.0)], False, Outcome.spam),  # the threshold reached exactly
        ([rule(1, RuleAction.score, 4.99)], False, Outcome.clean),
        ([rule(1, RuleAction.score, 5.0)], True, Outcome.known_sender),
        ([rule(1, RuleAction.score, 9.0), rule(2, RuleAction.allow)], False, Outcome.allowed),
        ([rule(1, RuleAction.block)], True, Outcome.blocked),  # an agent blocked them: known or not
        ([rule(2, RuleAction.allow), rule(1, RuleAction.block)], False, Outcome.blocked),
        ([], False, Outcome.clean),
    ],
)
def test_the_decision(rules: list[RuleSpec], known: bool, outcome: Outcome) -> None:
    verdict = judge(MAIL, rules, timeout=TIMEOUT)
    assert decide(verdict, threshold=DEFAULT_THRESHOLD, known_sender=known) == outcome
    assert outcome.is_spam == (outcome in {Outcome.spam, Outcome.blocked})


def test_block_and_allow_name_the_first_rule_that_matched() -> None:
    rules = [rule(4, RuleAction.block), rule(5, RuleAction.block), rule(6, RuleAction.allow)]
    verdict = judge(MAIL, rules, timeout=TIMEOUT)
    assert (verdict.blocked_by, verdict.allowed_by, verdict.score) == (4, 6, 0)
