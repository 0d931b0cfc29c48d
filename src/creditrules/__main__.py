"""``python -m creditrules``: the same command line as ``creditrules``."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="creditrules")
