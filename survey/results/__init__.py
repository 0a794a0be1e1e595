"""From the database to analysis/ and back out as words and JSON."""
