"""The spam folder's filter: a score for each inbound message from admins' rules and built-in signals.

``scoring`` and ``signals`` are pure; ``service`` holds the rules, the threshold and the marking
of tickets by agents; docs/subsystems/spam.md describes the whole.
"""
