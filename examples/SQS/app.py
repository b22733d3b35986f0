"""SQS: process a batch of queue messages and report the ones that failed.

Lambda polls the queue and invokes the function with up to ``BatchSize`` messages at once. The event is
read with Powertools' ``SQSEvent`` data class (``aws_lambda_powertools.utilities.data_classes``, and no
other part of Powertools); each message's body is validated as an ``Order`` and fulfilled on its own.
The answer is a *partial batch response*, ``{"batchItemFailures": [{"itemIdentifier": "<messageId>"}]}``:
with ``FunctionResponseTypes: [ReportBatchItemFailures]`` on the event source mapping, Lambda deletes
the messages that succeeded and only the failed ones go back to the queue.

The handler's ``event`` parameter is a plain ``dict`` (the runtime decodes it with the standard
library's ``json``), and it returns a pydantic ``BatchResponse``, which the runtime serialises by alias
(the ``json`` extra). ``app_pydantic.py`` is the same function with the event as pydantic models.

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop.
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import SQSEvent
from lambda_runtime import LambdaContext, LambdaRuntime

from orders import BatchResponse, process_messages


class InvalidEventError(ValueError):
    """The event is not an SQS event: Lambda then retries the whole batch, as for any function error."""


def handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    """Process every message of the batch; answer with the ids of the ones that failed.

    Args:
        event: The SQS event, JSON-decoded: ``{"Records": [{"messageId": ..., "body": ...}, ...]}``.
        context: The invocation's context; processing a batch needs nothing from it.

    Returns:
        The partial batch response; an empty ``batchItemFailures`` list means every message succeeded.

    Raises:
        InvalidEventError: The event has no ``Records`` list, so it cannot come from SQS.
    """
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        raise InvalidEventError('expected an SQS event: a JSON object with a "Records" list')
    return process_messages(SQSEvent(event).records)


if __name__ == "__main__":
    LambdaRuntime(handler).run()
