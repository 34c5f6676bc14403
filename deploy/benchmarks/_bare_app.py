"""The yardstick for gateway reads: a bare Litestar endpoint doing one MongoDB read, served
the same way as the services (uvicorn, one process, no middleware).

    python -m deploy.benchmarks._bare_app <port> <mongo uri> <database>
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from pymongo import AsyncMongoClient


def create_app(mongo_uri: str, database: str) -> Litestar:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    collection = client[database]["bare_reads"]

    @get("/read/{key:str}")
    async def read(key: str) -> dict[str, Any]:
        document = await collection.find_one({"_id": key})
        if document is None:
            raise NotFoundException()
        return document

    return Litestar([read], on_shutdown=[client.close])


if __name__ == "__main__":
    port, uri, database = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    uvicorn.run(
        create_app(uri, database),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
