import asyncio

from bot import eventloop


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_newsbot_runs_on_uvloop() -> None:
    assert eventloop.run(_loop_module()).startswith("uvloop")
