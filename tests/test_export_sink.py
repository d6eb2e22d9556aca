"""The export sink plugins write a member's data through: valid JSON whatever is empty, one name
once, and a cancelled export leaves no file behind."""

from __future__ import annotations

import asyncio
import json
import zipfile

import msgspec
import pytest

from cryb_node.export import ExportSink


class Head(msgspec.Struct):
    id: str
    name: str


async def test_arrays_nested_arrays_and_files_come_out_as_valid_json_and_bytes(tmp_path):
    path = tmp_path / "x.zip"
    seen = []

    async def progress(p):
        seen.append(p)

    sink = ExportSink(path, "me", parts=1, on_progress=progress)
    await sink.open()
    await sink.begin_part("test")
    sink.expect(4)
    async with sink.json_array("empty.json"):
        pass
    async with sink.json_array("convs.json") as out:
        async with out.nested(Head("a", "with messages"), "messages") as inner:
            await inner.extend([{"n": 1}, {"n": 2, "text": "two\nlines"}])
            await inner.extend([{"n": 3}])
        async with out.nested(Head("b", "quiet"), "messages"):
            pass

    async def chunks():
        yield b"\x00\x01"
        yield b"\x02"

    await sink.copy("files/blob.bin", chunks())
    await sink.end_part()
    await sink.close()
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("empty.json")) == []
        assert json.loads(zf.read("convs.json")) == [
            {
                "id": "a",
                "name": "with messages",
                "messages": [{"n": 1}, {"n": 2, "text": "two\nlines"}, {"n": 3}],
            },
            {"id": "b", "name": "quiet", "messages": []},
        ]
        assert zf.read("files/blob.bin") == b"\x00\x01\x02"
        assert zf.getinfo("files/blob.bin").compress_type == zipfile.ZIP_STORED
    assert seen[-1].items == 4 and seen[-1].fraction == 1.0


async def test_a_name_is_written_once_and_never_outside_the_zip(tmp_path):
    sink = ExportSink(tmp_path / "x.zip", "me")
    await sink.open()
    await sink.write_json("a.json", [])
    for bad in ("a.json", "../evil.json", "/abs.json", "dir/../../x"):
        with pytest.raises(ValueError):
            await sink.write_json(bad, [])
    await sink.close()


async def test_a_cancelled_export_leaves_no_file(tmp_path):
    path = tmp_path / "x.zip.part"
    sink = ExportSink(path, "me")
    await sink.open()
    started = asyncio.Event()

    async def endless():
        started.set()
        while True:
            yield b"x" * 65536
            await asyncio.sleep(0)

    async def write():
        try:
            await sink.copy("big.bin", endless())
        except asyncio.CancelledError:
            await sink.abort()
            raise

    task = asyncio.create_task(write())
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not path.exists()
