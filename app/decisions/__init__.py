"""Decision records (DEC-n) and the decision log."""
