"""Requests, agreements and metered usage: booking that holds under concurrency and retries."""
