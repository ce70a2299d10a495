"""The one thing pyproject.toml cannot say without an experimental table: the C parts.

`bot/_text.c` reads summaries into text; `bot/feeds/_lift.c` takes long texts out of a
feed before libxml2 parses it; `bot/feeds/_tree.c` walks libxml2's tree through lxml's
C API (its headers come in lxml's wheel, hence lxml in the build requirements). All
are optional: without a C compiler, or without lxml at build time, the install still
succeeds, and newsbot does the same work in Python, more slowly.
"""

from setuptools import Extension, setup


def lxml_headers() -> list[str] | None:
    try:
        import lxml
    except ImportError:
        return None
    return [path for path in lxml.get_include() if not path.endswith("__pycache__")]


extensions = [
    Extension("bot._text", sources=["bot/_text.c"], optional=True),
    Extension("bot.feeds._lift", sources=["bot/feeds/_lift.c"], optional=True),
]
if (headers := lxml_headers()) is not None:
    extensions.append(
        Extension(
            "bot.feeds._tree", sources=["bot/feeds/_tree.c"], include_dirs=headers, optional=True
        )
    )

setup(ext_modules=extensions)
