"""The program that runs inside the InvenTree service.

Run as `python -m inventree_runtime <subcommand>` with the InvenTree Python
environment as the interpreter; see docs/ARCHITECTURE.md for the contract.
Standard library only: Django is reached through `manage.py` subprocesses, so
this package imports (and its tests run) without InvenTree installed.
"""
