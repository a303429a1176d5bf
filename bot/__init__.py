"""imagine-bot."""
