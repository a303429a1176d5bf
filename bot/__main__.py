"""Entry point: ``python -m bot`` and the ``imagine-bot`` console script."""

import os

# python-telegram-bot 22 emits a deprecation warning for every RetryAfter unless it may use timedelta values.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.cli import main  # after the environment is set: PTB reads it on import

if __name__ == "__main__":
    main()
