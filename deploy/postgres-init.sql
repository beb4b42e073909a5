-- The Prefect server keeps its own state in a second database of the same PostgreSQL.
CREATE DATABASE prefect;
