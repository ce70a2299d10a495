"""The one thing pyproject.toml cannot say without an experimental table: the C part.

`bot/_text.c` reads summaries into text (see its header). It is optional: without a
C compiler the install still succeeds and `bot/text.py` does the same work in Python,
more slowly.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("bot._text", sources=["bot/_text.c"], optional=True)])
