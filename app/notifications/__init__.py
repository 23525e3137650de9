"""Notifications: watching pages, the in-app inbox and e-mail delivery."""
