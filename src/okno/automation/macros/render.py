"""Placeholders in macro texts: a tiny explicit substitution, no template engine.

Macro bodies are written by agents, so they are never run through Jinja: a template language
in user-written text is a sandbox-escape risk and a way to read what the author should not.
The syntax is ``{{ name }}`` (spaces inside the braces are optional), and the names are the
fixed list below. Substitution is one pass: a value that itself contains ``{{ … }}`` (a
customer named "{{agent.name}}") is inserted as it is, never expanded again.

Pure: no session, no clock; the service gathers the values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Anything between double braces is meant as a placeholder: unknown names are refused when a
# macro is saved, rather than reaching a customer as literal braces.
_ANY = re.compile(r"\{\{(.*?)\}\}", re.S)

PLACEHOLDERS: tuple[str, ...] = (
    "customer.first_name",
    "customer.name",
    "customer.email",
    "ticket.number",
    "ticket.subject",
    "agent.first_name",
    "agent.name",
)


def syntax(name: str) -> str:
    return "{{" + name + "}}"


def first_name(full_name: str | None) -> str:
    """The first word of a name: "Иван Петров" → "Иван", "  anna " → "anna"."""
    words = (full_name or "").replace(",", " ").split()
    return words[0] if words else ""


def placeholders_in(text: str) -> list[str]:
    """Every placeholder name used, in order of first use, as written (trimmed)."""
    return list(dict.fromkeys(match.strip() for match in _ANY.findall(text)))


def unknown_placeholders(text: str) -> list[str]:
    return [name for name in placeholders_in(text) if name not in PLACEHOLDERS]


@dataclass(frozen=True)
class Rendered:
    text: str
    # Known placeholders that had no value (rendered empty): the preview warns about them.
    missing: tuple[str, ...]
    # Names that are not placeholders (only in macros saved before a name was retired): left as written.
    unknown: tuple[str, ...]


def values(
    *,
    customer_name: str | None,
    customer_email: str | None,
    ticket_number: int | None,
    ticket_subject: str | None,
    agent_name: str | None,
) -> dict[str, str]:
    """The placeholder values of one ticket, as text ("" when unknown)."""
    return {
        "customer.first_name": first_name(customer_name),
        "customer.name": (customer_name or "").strip(),
        "customer.email": (customer_email or "").strip(),
        "ticket.number": "" if ticket_number is None else str(ticket_number),
        "ticket.subject": (ticket_subject or "").strip(),
        "agent.first_name": first_name(agent_name),
        "agent.name": (agent_name or "").strip(),
    }


def render(text: str, known: Mapping[str, str]) -> Rendered:
    missing: list[str] = []
    unknown: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name not in PLACEHOLDERS:
            if name not in unknown:
                unknown.append(name)
            return match.group(0)
        value = known.get(name, "")
        if not value and name not in missing:
            missing.append(name)
        return value

    return Rendered(_ANY.sub(substitute, text), tuple(missing), tuple(unknown))
