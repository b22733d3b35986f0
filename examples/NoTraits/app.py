"""NoTraits: raw bytes in, raw bytes out, on lambda-runtime installed with no extra.

Annotating the event parameter as ``bytes`` makes the runtime hand over the payload exactly as it
arrived, with no JSON decoding; returning ``bytes`` sends the response back exactly as returned,
with no JSON encoding. So the function works for any payload: JSON, text in any encoding, or binary.

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop.
"""

from lambda_runtime import LambdaContext, LambdaRuntime


def handler(event: bytes, context: LambdaContext) -> bytes:
    """Return the payload with its ASCII letters upper-cased and every other byte unchanged.

    ``bytes.upper()`` never decodes, so it cannot fail on the payload's encoding: UTF-8 sequences,
    invalid UTF-8 and NUL bytes all pass through as they came. That is byte semantics, not text
    semantics: ``"Zoë"`` becomes ``"ZOë"`` (``str.upper()`` would give ``"ZOË"``).

    Args:
        event: The invocation payload, byte for byte.
        context: The invocation's context; its logger records how much data came in.

    Returns:
        The transformed payload, which the runtime sends back without any encoding.
    """
    # Log the size only: the payload may be binary or sensitive, and it belongs to the caller.
    context.logger.info("upper-casing a %d-byte payload", len(event))
    return event.upper()


if __name__ == "__main__":
    LambdaRuntime(handler).run()
