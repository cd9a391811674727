"""The admin section's left navigation: one list, so a new admin page is one more line here.

A section shows only to people its permission admits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from okno.accounts.permissions import Actor, may_administer, may_see_directory
from okno.web.i18n import N_


@dataclass(frozen=True)
class AdminSection:
    key: str
    title: str  # English source text; translated where shown
    path: str
    may_see: Callable[[Actor], bool]


SECTIONS = (
    AdminSection("users", N_("Users"), "/admin/users", may_see_directory),
    AdminSection("teams", N_("Teams"), "/admin/teams", may_see_directory),
    AdminSection("routing", N_("Routing"), "/admin/routing", may_see_directory),
    AdminSection("tags", N_("Tags"), "/admin/tags", may_administer),
    AdminSection("custom_fields", N_("Custom fields"), "/admin/custom-fields", may_administer),
    AdminSection("macros", N_("Macros"), "/admin/macros", may_administer),
    AdminSection("rules", N_("Rules"), "/admin/rules", may_administer),
    AdminSection("sla", N_("SLA policies"), "/admin/sla", may_administer),
    AdminSection("mailboxes", N_("Mailboxes"), "/admin/mailboxes", may_administer),
    AdminSection("spam", N_("Spam filter"), "/admin/spam", may_administer),
    AdminSection("business_hours", N_("Business hours"), "/admin/business-hours", may_administer),
    AdminSection("widgets", N_("Chat widgets"), "/admin/widgets", may_administer),
    AdminSection("webhooks", N_("Webhooks"), "/admin/webhooks", may_administer),
)


def sections_for(actor: Actor) -> list[AdminSection]:
    """The sections this person may open (in the order above)."""
    return [s for s in SECTIONS if s.may_see(actor)]
