"""What every benchmark ends with: its checks printed, exit status 1 if any failed (a
benchmark whose bit-exactness or acceptance check fails must not look like a pass)."""
from __future__ import annotations


def report_checks(checks: dict[str, bool]) -> int:
    print()
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1
