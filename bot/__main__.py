"""Entry point: ``python -m bot`` and the ``imagine-bot`` console script."""

from bot.cli import main

if __name__ == "__main__":
    main()
