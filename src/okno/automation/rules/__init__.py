"""Automation rules: triggers that react to ticket changes and time-based automations."""
