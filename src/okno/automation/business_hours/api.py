"""JSON routes for business-hours calendars (administrators)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from okno.accounts.permissions import require_admin
from okno.automation.business_hours import queries, service
from okno.automation.business_hours.schemas import CalendarCreate, CalendarRead, CalendarUpdate
from okno.db import utcnow
from okno.http.deps import CurrentActor, DbSession
from okno.http.idempotency import IdempotencyDep
from okno.schemas import Id

router = APIRouter(prefix="/api/v1/business-hours", tags=["business hours"])

CREATE_HELP = (
    "Times are local wall-clock times in the calendar's time zone. An interval whose end is before its "
    "start must be marked `overnight` (it ends the next day); an end of 00:00 means midnight. Holidays close "
    "the intervals that start on their date; a special date replaces the week's hours and holidays on it "
    "(no hours: closed). The first calendar becomes the default one, used by teams without their own."
)


@router.get("", response_model=list[CalendarRead], summary="List business-hours calendars")
def list_calendars(session: DbSession, actor: CurrentActor) -> list[CalendarRead]:
    require_admin(actor)
    return queries.to_reads(session, queries.list_calendars(session), utcnow(session))


@router.post("", status_code=201, response_model=CalendarRead, summary="Create a calendar", description=CREATE_HELP)
def create_calendar(
    body: CalendarCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    def produce() -> CalendarRead:
        row = service.create_calendar(session, actor, data=body)
        return queries.to_read(session, service.load_calendar(session, row.id), utcnow(session))

    return idempotency.respond(201, produce)


@router.get("/{calendar_id}", response_model=CalendarRead, summary="One calendar")
def get_calendar(calendar_id: Id, session: DbSession, actor: CurrentActor) -> CalendarRead:
    return queries.to_read(session, service.get_calendar(session, actor, calendar_id), utcnow(session))


@router.patch(
    "/{calendar_id}",
    response_model=CalendarRead,
    summary="Change a calendar",
    description="Only the fields given change; `week`, `holidays`, `special_days` and `team_ids` replace "
    "the calendar's as a whole. A team listed in `team_ids` moves here from any other calendar.",
)
def update_calendar(calendar_id: Id, body: CalendarUpdate, session: DbSession, actor: CurrentActor) -> CalendarRead:
    row = service.update_calendar(session, actor, calendar_id, changes=body)
    return queries.to_read(session, row, utcnow(session))


@router.delete(
    "/{calendar_id}",
    status_code=204,
    summary="Delete a calendar",
    description="Its teams fall back to the default calendar. The default calendar can be deleted only "
    "when it is the last one (409 otherwise).",
)
def delete_calendar(calendar_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_calendar(session, actor, calendar_id)
    return Response(status_code=204)
