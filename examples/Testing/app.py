"""Testing: a small function, written to be tested, whose tests are the point of the example.

It puts texts in sentence case: ``{"texts": ["hello WORLD. how ARE you?"]}`` is answered with
``{"results": ["Hello world. How are you?"], "unprocessed": []}``.

The code is in two layers, each tested its own way (see tests/ and README.md):

* ``sentence_case``, the business logic: a plain function of a string, no Lambda anywhere;
* ``handler``, the Lambda side: a typed handler (the runtime validates the event against
  ``CapitalizeRequest`` and serialises the ``CapitalizeResponse``), which also watches the invocation's
  remaining time and hands back, unprocessed, the texts it has no time left for.

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop (outside
Lambda, behind the local server).
"""

from lambda_runtime import LambdaContext, LambdaRuntime
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# The handler stops starting new work when less than this is left before Lambda's timeout.
SAFETY_MARGIN_MS = 500

_SENTENCE_ENDS = ".!?"
_CLOSING = "\"')]\u00bb\u201d\u2019"  # may follow the end of a sentence: ?" or .) or ?»


def sentence_case(text: str) -> str:
    """Upper-case the first letter of each sentence and lower-case every other letter.

    A sentence starts at the beginning of the text and after ``.``, ``!`` or ``?`` (and any closing
    quotes or brackets) followed by whitespace; anything before its first letter (quotes, spaces) is
    kept as it is, and a sentence that starts with a digit keeps its next letter lower-case.
    Abbreviations (``e.g. this``) end a sentence, and proper nouns are lower-cased: it is a formatting
    rule, not a grammar.

    >>> sentence_case("hello WORLD. how ARE you?")
    'Hello world. How are you?'
    """
    result = []
    capitalise_next = True  # the next letter starts a sentence
    after_end = False  # the previous character ended a sentence
    for char in text:
        if char.isalpha():
            result.append(char.upper() if capitalise_next else char.lower())
            capitalise_next = False
        else:
            result.append(char)
            if char.isdigit():
                capitalise_next = False
            elif char.isspace() and after_end:
                capitalise_next = True
        after_end = char in _SENTENCE_ENDS or (after_end and char in _CLOSING)
    return "".join(result)


class JSONModel(BaseModel):
    """camelCase in JSON, snake_case in Python; strict types."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, strict=True)


class CapitalizeRequest(JSONModel):
    """The event: ``{"texts": ["hello WORLD", ...]}``, 1 to 100 texts."""

    texts: list[str] = Field(min_length=1, max_length=100)


class CapitalizeResponse(JSONModel):
    """The answer: the texts in sentence case, and those left unprocessed for lack of time, to resend."""

    results: list[str]
    unprocessed: list[str] = Field(default_factory=list)


def handler(event: CapitalizeRequest, context: LambdaContext) -> CapitalizeResponse:
    """Put each text of the event in sentence case, while there is time.

    Args:
        event: The request, already validated by the runtime against ``CapitalizeRequest``.
        context: The invocation's context: ``get_remaining_time_in_millis()`` says how long until
            Lambda's timeout.

    Returns:
        The texts done, in order, and the ones not started because less than ``SAFETY_MARGIN_MS``
        was left: an answer that arrives is better than a timeout that loses everything.
    """
    results = []
    for index, text in enumerate(event.texts):
        if context.get_remaining_time_in_millis() < SAFETY_MARGIN_MS:
            return CapitalizeResponse(results=results, unprocessed=event.texts[index:])
        results.append(sentence_case(text))
    return CapitalizeResponse(results=results)


if __name__ == "__main__":
    LambdaRuntime(handler).run()
