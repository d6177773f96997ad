"""Stand-in for the ZED SDK's ``pyzed`` package (tests only; see sl.py)."""
