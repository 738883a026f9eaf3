"""The test endpoint keeps DynamoDB's promise that a conditional write is atomic.

The AWS store's quota and version checks are conditional writes; the concurrency tests that prove them
(quota races, password races, deletion racing uploads) only mean something if the endpoint under them
evaluates a condition and applies its write as one step, as DynamoDB does. Plain moto_server does not
(it let 4 and more of 12 racing uploads through a quota of 3), so `devtools/moto_atomic_server.py`
serialises DynamoDB requests; this test fails if the suite ever runs on a server without that.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

from botocore.exceptions import ClientError

from tests.support.moto import AwsResources, new_client

LIMIT = 3
RACERS = 16
ROUNDS = 4


def _take_a_slot(client: Any, table: str, counter: str, barrier: Barrier) -> bool:
    """The store's upload pattern: a new record and a bounded counter, in one transaction."""
    barrier.wait(timeout=30)
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": f"ITEM#{uuid.uuid4()}"}, "sk": {"S": "ITEM"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": counter}, "sk": {"S": "COUNTER"}},
                        "UpdateExpression": "ADD #n :one",
                        "ConditionExpression": "attribute_not_exists(#n) OR #n < :limit",
                        "ExpressionAttributeNames": {"#n": "n"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": str(LIMIT)}},
                    }
                },
            ]
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        return False
    return True


def test_racing_conditional_transactions_never_pass_the_condition_together(
    aws_resources: AwsResources,
) -> None:
    table, _bucket = aws_resources.new_table_and_bucket()
    client = new_client("dynamodb", aws_resources.endpoint)
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        for round_number in range(ROUNDS):
            counter = f"COUNTER#{round_number}"
            barrier = Barrier(RACERS)
            racers = [pool.submit(_take_a_slot, client, table, counter, barrier) for _ in range(RACERS)]
            won = sum(racer.result() for racer in racers)
            stored = client.get_item(TableName=table, Key={"pk": {"S": counter}, "sk": {"S": "COUNTER"}})
            assert (won, stored["Item"]["n"]["N"]) == (LIMIT, str(LIMIT)), f"round {round_number}"
