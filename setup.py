"""The one thing pyproject.toml cannot say without an experimental table: the C parts.

`bot/_text.c` reads summaries into text; `bot/feeds/_lift.c` takes long texts out of a
feed before libxml2 parses it (see their headers). Both are optional: without a C
compiler the install still succeeds, and newsbot does the same work in Python, more
slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("bot._text", sources=["bot/_text.c"], optional=True),
        Extension("bot.feeds._lift", sources=["bot/feeds/_lift.c"], optional=True),
    ]
)
