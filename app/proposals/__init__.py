"""Proposals: options put to participants, responses, versions and pending page changes."""
