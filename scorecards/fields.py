from django.db import models


class JSONTextField(models.JSONField):
    """JSON kept as PostgreSQL `json` (text, checked for syntax) rather than `jsonb`.

    Score snapshots are written in bulk every night and always read whole, never queried
    inside; `jsonb` parses every document into a binary tree on the way in, which made COPY of
    snapshot rows 2.6× slower than `json` in bench/recompute.py. Other databases keep the
    JSONField default.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        if value is not None and not isinstance(value, str):
            return value  # psycopg2 decodes `json` itself
        return super().from_db_value(value, expression, connection)
