"""Imports every domain's jobs module, explicitly, so their handlers are registered."""

from okno.accounts import jobs as accounts_jobs
from okno.automation.rules import jobs as rules_jobs
from okno.automation.sla import jobs as sla_jobs
from okno.automation.webhooks import jobs as webhooks_jobs
from okno.channels import jobs as channels_jobs
from okno.channels.chat import jobs as chat_jobs
from okno.channels.email import jobs as email_jobs
from okno.channels.portal import jobs as portal_jobs
from okno.http import jobs as http_jobs
from okno.jobs import maintenance
from okno.routing import jobs as routing_jobs
from okno.tickets import jobs as tickets_jobs
from okno.tickets import reactions as tickets_reactions

__all__ = [
    "accounts_jobs",
    "channels_jobs",
    "chat_jobs",
    "email_jobs",
    "http_jobs",
    "maintenance",
    "portal_jobs",
    "routing_jobs",
    "rules_jobs",
    "sla_jobs",
    "tickets_jobs",
    "tickets_reactions",
    "webhooks_jobs",
]
