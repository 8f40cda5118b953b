"""``python -m musicgen`` runs the command line."""

from musicgen.cli import main

if __name__ == "__main__":
    main()
