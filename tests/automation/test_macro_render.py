"""Placeholder rendering: hand-computed cases, no database."""

from __future__ import annotations

import pytest

from okno.automation.macros import render

VALUES = render.values(
    customer_name="Иван Петров",
    customer_email="ivan@example.com",
    ticket_number=1042,
    ticket_subject="Не пришёл заказ",
    agent_name="Emma Clarke",
)


@pytest.mark.parametrize(
    ("text", "expected", "missing"),
    [
        ("Здравствуйте, {{customer.first_name}}!", "Здравствуйте, Иван!", ()),
        ("Hi {{ customer.first_name }},", "Hi Иван,", ()),  # spaces inside the braces
        ("{{customer.name}} <{{customer.email}}>", "Иван Петров <ivan@example.com>", ()),
        ("Ticket #{{ticket.number}}: {{ticket.subject}}", "Ticket #1042: Не пришёл заказ", ()),
        ("— {{agent.first_name}} ({{agent.name}})", "— Emma (Emma Clarke)", ()),
        ("{{customer.first_name}}{{customer.first_name}}", "ИванИван", ()),
        ("No placeholders at all.", "No placeholders at all.", ()),
        ("A lone { brace } and }} stays", "A lone { brace } and }} stays", ()),
        ("Multi\nline {{ticket.number}}\n", "Multi\nline 1042\n", ()),
    ],
)
def test_known_values_fill_in(text: str, expected: str, missing: tuple[str, ...]) -> None:
    result = render.render(text, VALUES)
    assert result.text == expected
    assert result.missing == missing and result.unknown == ()


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Иван Петров", "Иван"),
        ("  anna  ", "anna"),
        ("Анна-Мария Иванова", "Анна-Мария"),
        ("Petrov, Ivan", "Petrov"),
        ("", ""),
        (None, ""),
        ("   ", ""),
    ],
)
def test_first_name_is_the_first_word(name: str | None, first: str) -> None:
    assert render.first_name(name) == first


def test_missing_values_render_empty_and_are_reported_once() -> None:
    values = render.values(customer_name="", customer_email=None, ticket_number=7, ticket_subject="Hi", agent_name=None)
    result = render.render("Hi {{customer.first_name}}, {{customer.first_name}} — {{agent.name}}", values)
    assert result.text == "Hi ,  — "
    assert result.missing == ("customer.first_name", "agent.name")


def test_substitution_is_a_single_pass() -> None:
    """A value that looks like a placeholder is inserted as it is, never expanded."""
    values = dict(VALUES, **{"customer.name": "{{agent.name}}", "customer.first_name": "{{ticket.number}}"})
    result = render.render("{{customer.name}} / {{customer.first_name}}", values)
    assert result.text == "{{agent.name}} / {{ticket.number}}"


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("Hi {{customer.first}}", ["customer.first"]),
        ("{{ 7*7 }} and {{config}}", ["7*7", "config"]),
        ("{{customer.__class__}}", ["customer.__class__"]),
        ("{{ customer.first_name }} {{ticket.number}}", []),
        ("{{foo}} {{foo}}", ["foo"]),
        ("{{}}", [""]),
    ],
)
def test_unknown_placeholders_are_found(text: str, unknown: list[str]) -> None:
    assert render.unknown_placeholders(text) == unknown


def test_unknown_names_are_left_as_written_when_rendering() -> None:
    result = render.render("Hi {{nope}} {{customer.first_name}}", VALUES)
    assert result.text == "Hi {{nope}} Иван" and result.unknown == ("nope",)


def test_every_placeholder_has_a_value() -> None:
    assert set(VALUES) == set(render.PLACEHOLDERS)
    assert render.syntax("ticket.number") == "{{ticket.number}}"
