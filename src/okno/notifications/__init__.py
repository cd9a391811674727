"""Notifications for staff: someone mentioned you in a note, and what you have not read yet."""
