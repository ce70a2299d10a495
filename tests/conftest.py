# The throwaway PostgreSQL server and database-URL fixtures (see tests/pgserver.py).
pytest_plugins = ["tests.pgserver"]
