"""``python3 -m heron``: run the command line (the demo site when given no app)."""

from heron.cli import main

if __name__ == "__main__":
    main()
