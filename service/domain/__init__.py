"""The clinical core: pure Python, no Flask and no SQLAlchemy, so it can be tested and reasoned about alone."""
