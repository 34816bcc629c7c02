"""A stand-in for Xvfb in tests: creates the display's socket file, then waits for SIGTERM like the real server.

`python -m tests.deploy.stand_in_display SOCKET [--ignore-sigterm]`; with --ignore-sigterm only SIGKILL ends it, to
show that the entrypoint does not depend on a well-behaved child.
"""
import argparse
import os
import signal
import socket
import threading


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket_path")
    parser.add_argument("--ignore-sigterm", action="store_true")
    args = parser.parse_args()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, signal.SIG_IGN if args.ignore_sigterm else lambda *_: stopped.set())
    os.makedirs(os.path.dirname(args.socket_path), exist_ok=True)
    server = socket.socket(socket.AF_UNIX)
    server.bind(args.socket_path)
    server.listen()
    print(f"stand-in display listening on {args.socket_path}", flush=True)
    try:
        stopped.wait()
    finally:
        server.close()
        os.unlink(args.socket_path)


if __name__ == "__main__":
    main()
