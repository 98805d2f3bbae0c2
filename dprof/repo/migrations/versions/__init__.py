"""Alembic revision scripts (alembic loads them by path; this file makes the folder a
package so that it is installed with dprof)."""
