"""The business side of the SQS example: what a message holds, and processing a batch of messages.

Nothing here knows where the messages came from. ``process_messages`` takes any objects with
``message_id``, ``body`` and ``event_source_arn`` attributes, which both Powertools' ``SQSRecord`` (used
by ``app.py``) and the pydantic ``SQSMessage`` model of ``app_pydantic.py`` have. It returns the
*partial batch response* Lambda expects when the event source mapping has ``ReportBatchItemFailures``:
the ids of the messages that failed, so that only those go back to the queue.
"""

import logging
from collections.abc import Iterable
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

logger = logging.getLogger(__name__)


class JSONModel(BaseModel):
    """camelCase in JSON (``orderId``, ``batchItemFailures``), snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Order(JSONModel):
    """One message's body: ``{"orderId": "o-1001", "sku": "WIDGET-1", "quantity": 2}``."""

    model_config = ConfigDict(strict=True)

    order_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=100)


class BatchItemFailure(JSONModel):
    """A message to give back to the queue: ``{"itemIdentifier": "<messageId>"}``."""

    item_identifier: str


class BatchResponse(JSONModel):
    """The handler's answer: ``{"batchItemFailures": [...]}``, empty when every message succeeded."""

    batch_item_failures: list[BatchItemFailure] = Field(default_factory=list)


class QueueMessage(Protocol):
    """What ``process_messages`` needs from a message, whichever class carries it."""

    @property
    def message_id(self) -> str:
        """The message's id, which Lambda expects back as ``itemIdentifier`` if it failed."""
        ...

    @property
    def body(self) -> str:
        """The message's body, as sent."""
        ...

    @property
    def event_source_arn(self) -> str:
        """The queue's ARN; a FIFO queue's name ends in ``.fifo``."""
        ...


def fulfil(order: Order) -> str:
    """Fulfil one order and describe what was done.

    A real function would write to a table or call a service here. SQS delivers each message at least
    once, so whatever this does must be safe to repeat for the same ``order_id``.
    """
    return f"order {order.order_id}: {order.quantity} x {order.sku}"


def process_messages(messages: Iterable[QueueMessage]) -> BatchResponse:
    """Process each message on its own; report the ones that failed.

    A message fails when its body is not an ``Order`` or when fulfilling it raises. The others still
    count as processed: Lambda deletes them from the queue. Only the failed ones become visible again,
    for SQS to deliver again (and, after the queue's ``maxReceiveCount`` attempts, to move to the
    dead-letter queue).

    From a FIFO queue, the first failure stops the batch: every message after it is reported as failed
    without being processed, so that no message overtakes an earlier one of its group.
    """
    failures: list[BatchItemFailure] = []
    for message in messages:
        if failures and message.event_source_arn.endswith(".fifo"):
            logger.info("Message %s goes back unprocessed: it follows a failure", message.message_id)
            failures.append(BatchItemFailure(item_identifier=message.message_id))
            continue
        try:
            order = Order.model_validate_json(message.body)
            done = fulfil(order)
        except Exception as error:  # one bad message must not fail the whole batch
            logger.warning(
                "Message %s failed and goes back to the queue: %s", message.message_id, _why(error)
            )
            failures.append(BatchItemFailure(item_identifier=message.message_id))
        else:
            logger.info("Message %s processed: %s", message.message_id, done)
    return BatchResponse(batch_item_failures=failures)


def _why(error: Exception) -> str:
    """One line saying what was wrong with a message."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in detail['loc']) or 'body'}: {detail['msg']}"
            for detail in error.errors(include_url=False)
        )
        return f"not an order ({problems})"
    return f"{type(error).__name__}: {error}"
