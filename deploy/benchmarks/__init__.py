"""One module per area, each with `async def measure(stack, http, raw, scale) -> dict`.

`raw` holds the raw limits measured in the same run (`mongo_insert_per_s`, `mongo_find_per_s`,
`kafka_produce_per_s`, and their p50s in ms), so every module reports ratios to them.
"""
