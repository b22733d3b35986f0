"""The benchmark's handler: HelloWorld's echo, with nothing else that could cost time.

Every contender runs this same function: ``python -m lambda_runtime bench_handler.handler``,
``python -m awslambdaric bench_handler.handler``, or ``python bench_handler.py`` for
lambda-runtime's script form.
"""


def handler(event: dict[str, str], context: object) -> dict[str, str]:
    """Answer ``{"name": "Ada"}`` with ``{"message": "Hello, Ada!"}``."""
    return {"message": f"Hello, {event['name']}!"}


if __name__ == "__main__":
    # Imported here so that importing this module (as awslambdaric does) never needs lambda_runtime.
    from lambda_runtime import LambdaRuntime

    LambdaRuntime(handler).run()
