"""SQLAlchemy 2.0 over psycopg2: the steps are in _sqlalchemy_flow.py (shared with sqlalchemy_psycopg.py)."""

import os
import sys

sys.dont_write_bytecode = True  # keep compat/flows/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _sqlalchemy_flow  # noqa: E402

if __name__ == "__main__":
    _sqlalchemy_flow.run("psycopg2")
