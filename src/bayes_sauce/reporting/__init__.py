"""Reporting: tables, figures, markdown and HTML from computed quantities; nothing here estimates anything."""
