"""``python -m fbtime.sandbox``: run the sandbox until Ctrl-C."""

import sys

from fbtime.sandbox.server import serve_forever_cli

if __name__ == "__main__":
    sys.exit(serve_forever_cli())
