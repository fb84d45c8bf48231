"""Attack tests: text typed into the account by someone else (see hostile.py)."""
