"""Writes that follow a business rule, split by topic (STYLE.md §1)."""
