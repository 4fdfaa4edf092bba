"""The desktop evaluation: third-party Debian apps judged by their own output (see tasks.py)."""
