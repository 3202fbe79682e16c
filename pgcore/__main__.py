"""``python -m pgcore``: see :mod:`pgcore.cli`."""

import sys

if __name__ == "__main__":  # guard: spawn-started workers import this module as __mp_main__
    try:
        from .cli import main
    except KeyboardInterrupt:  # Ctrl-C while torch is still importing
        sys.exit(130)
    sys.exit(main())
