"""Webhooks: admins register endpoints that hear about domain events, sent signed with retries."""
