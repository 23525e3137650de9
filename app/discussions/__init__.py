"""Discussions: threads and comments on pages and on passages of pages."""
