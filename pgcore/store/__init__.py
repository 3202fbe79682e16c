"""The run history: every run recorded in SQL (SQLite or any SQLAlchemy URL).

Never imports streamlit."""
