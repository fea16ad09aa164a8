"""The service catalogue: categories, offers with immutable versions of their terms, German full-text search."""
