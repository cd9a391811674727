"""Business-hours calendars: weekly schedules with holidays and special dates, and business-time arithmetic."""
