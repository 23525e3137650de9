"""Full-text search: the outbox seam every domain writes to, the index that drains it."""
