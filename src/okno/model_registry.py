"""Imports every domain's tables, explicitly, so Alembic and the mappers see all of them."""

from okno.accounts import models as accounts_models
from okno.automation.business_hours import models as business_hours_models
from okno.automation.macros import models as macros_models
from okno.automation.rules import models as rules_models
from okno.automation.sla import models as sla_models
from okno.automation.webhooks import models as webhooks_models
from okno.channels.chat import models as chat_models
from okno.channels.email import models as email_models
from okno.channels.portal import models as portal_models
from okno.channels.spam import models as spam_models
from okno.channels.widget import models as widget_models
from okno.customers import models as customers_models
from okno.db import Base
from okno.http import models as http_models
from okno.jobs import models as jobs_models
from okno.notifications import models as notifications_models
from okno.routing import models as routing_models
from okno.tickets import models as tickets_models

__all__ = [
    "Base",
    "accounts_models",
    "business_hours_models",
    "chat_models",
    "customers_models",
    "email_models",
    "http_models",
    "jobs_models",
    "macros_models",
    "notifications_models",
    "portal_models",
    "routing_models",
    "rules_models",
    "sla_models",
    "spam_models",
    "tickets_models",
    "webhooks_models",
    "widget_models",
]

metadata = Base.metadata
