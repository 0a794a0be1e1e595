"""Heavy exports made apart from the request: the queue, the low-priority export process, downloads."""
