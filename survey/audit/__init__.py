"""The hash-chained audit trail of every change an evaluator makes, and its page."""
