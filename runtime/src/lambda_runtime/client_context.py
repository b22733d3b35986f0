"""What a mobile invoker passes along with an event: its client context and its Cognito identity.

``LambdaContext.client_context`` and ``LambdaContext.identity`` build these from the invocation's headers
the first time a handler reads them; most functions never do, so this module is not on the cold path.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _decode_json_object(text: str | None) -> "dict[str, Any] | None":
    if text is None:
        return None
    import json

    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class Client:
    """The mobile client that invoked the function (from the client context)."""

    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")

    def __init__(self, fields: "dict[str, Any]") -> None:
        self.installation_id: str | None = fields.get("installation_id")
        self.app_title: str | None = fields.get("app_title")
        self.app_version_name: str | None = fields.get("app_version_name")
        self.app_version_code: str | None = fields.get("app_version_code")
        self.app_package_name: str | None = fields.get("app_package_name")

    def __repr__(self) -> str:
        return f"Client(installation_id={self.installation_id!r}, app_title={self.app_title!r})"


class ClientContext:
    """The client context an invoker passed (``X-Amz-Client-Context``): client, custom and env."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, fields: "dict[str, Any]") -> None:
        client = fields.get("client")
        self.client: Client | None = Client(client) if isinstance(client, dict) else None
        self.custom: dict[str, Any] | None = fields.get("custom")
        self.env: dict[str, Any] | None = fields.get("env")

    def __repr__(self) -> str:
        return f"ClientContext(client={self.client!r}, custom={self.custom!r}, env={self.env!r})"


class CognitoIdentity:
    """The Amazon Cognito identity of the caller, when invoked through the AWS Mobile SDK."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, fields: "dict[str, Any]") -> None:
        self.cognito_identity_id: str | None = fields.get("cognitoIdentityId")
        self.cognito_identity_pool_id: str | None = fields.get("cognitoIdentityPoolId")

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity(cognito_identity_id={self.cognito_identity_id!r}, "
            f"cognito_identity_pool_id={self.cognito_identity_pool_id!r})"
        )


def client_context(text: str | None) -> ClientContext | None:
    """The client context sent as ``text`` (JSON), or ``None`` when there is none or it is unusable."""
    fields = _decode_json_object(text)
    return ClientContext(fields) if fields is not None else None


def cognito_identity(text: str | None) -> CognitoIdentity:
    """The Cognito identity sent as ``text`` (JSON); its fields are ``None`` when there is none."""
    return CognitoIdentity(_decode_json_object(text) or {})
