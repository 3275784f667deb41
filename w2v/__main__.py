import signal
import sys

try:
    from .cli import run
except KeyboardInterrupt:           # Ctrl-C while the modules load
    print("w2v: interrupted", file=sys.stderr)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(130)
run()
