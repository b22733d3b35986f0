"""The SQS function again, with the event read by pydantic models instead of Powertools' classes.

The handler is annotated ``(event: SQSEvent, context) -> BatchResponse``, so the runtime validates the
whole event against these models straight from the payload bytes, before the handler runs, and an
event that is not an SQS event is rejected with a ``ValidationError``. Processing is the same
``orders.process_messages`` as in ``app.py``; only the way the envelope is read differs, and with it the
cold start: this module does not import Powertools (README.md has the measurements).

To deploy this variant instead, set ``Handler: app_pydantic.handler`` in template.yaml.
"""

from typing import Literal

from lambda_runtime import LambdaContext, LambdaRuntime
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel, to_pascal

from orders import BatchResponse, process_messages


class SQSMessageSystemAttributes(BaseModel):
    """``attributes``: SQS's own, PascalCase in the event (``ApproximateReceiveCount``).

    SQS sends the numbers as strings (``"1"``); these fields are ``int``, which pydantic's default (lax)
    mode converts.
    """

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True)

    approximate_receive_count: int
    sent_timestamp: int
    sender_id: str
    approximate_first_receive_timestamp: int
    # Only from FIFO queues.
    message_group_id: str | None = None
    message_deduplication_id: str | None = None
    sequence_number: str | None = None


class SQSMessageAttribute(BaseModel):
    """One of the sender's ``messageAttributes``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    data_type: str
    string_value: str | None = None
    binary_value: str | None = None  # base64


class SQSMessage(BaseModel):
    """One record of the batch (camelCase, except ``eventSourceARN``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    message_id: str
    receipt_handle: str
    body: str
    attributes: SQSMessageSystemAttributes
    message_attributes: dict[str, SQSMessageAttribute] = Field(default_factory=dict)
    md5_of_body: str
    event_source: Literal["aws:sqs"]
    # AWS spells this one with a capitalised acronym, which to_camel would not produce.
    event_source_arn: str = Field(alias="eventSourceARN")
    aws_region: str


class SQSEvent(BaseModel):
    """The whole event: ``{"Records": [...]}``."""

    model_config = ConfigDict(populate_by_name=True)

    records: list[SQSMessage] = Field(alias="Records")


def handler(event: SQSEvent, context: LambdaContext) -> BatchResponse:
    """Process every message of the batch; answer with the ids of the ones that failed.

    Args:
        event: The SQS event, already validated by the runtime against ``SQSEvent``.
        context: The invocation's context; processing a batch needs nothing from it.

    Returns:
        The partial batch response; an empty ``batchItemFailures`` list means every message succeeded.
    """
    return process_messages(event.records)


if __name__ == "__main__":
    LambdaRuntime(handler).run()
