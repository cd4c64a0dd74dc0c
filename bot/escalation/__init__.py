"""Escalation: policy models, targets, manual and automatic escalation, reminders, paging."""
