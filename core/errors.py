"""Every failure Mend reports, as a named exception that maps one-to-one onto an API error code.

Callers catch exactly what they mean; routes turn any ``MendError`` into
``{"error": {"code", "message", "field"?}}`` with the class's HTTP status.

    >>> try:
    ...     raise InvalidWorkflow("nodes must be a list", field="nodes")
    ... except MendError as e:
    ...     (e.status, e.code, e.field)
    (400, 'invalid_workflow', 'nodes')
"""

from __future__ import annotations


class MendError(Exception):
    """Base of all of Mend's errors; ``code`` is stable and documented in docs/http-api.md (Error codes)."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_json(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        body.update({k: v for k, v in self.details.items() if v is not None})
        return {"error": body}


class BadRequest(MendError):
    status = 400
    code = "bad_request"


class InvalidJSON(BadRequest):
    code = "invalid_json"


class InvalidWorkflow(BadRequest):
    code = "invalid_workflow"


class SubgraphCycle(InvalidWorkflow):
    code = "subgraph_cycle"


class InvalidField(BadRequest):
    code = "invalid_field"


class UnsafePath(BadRequest):
    """A path with ``..``, an absolute path, or one that would leave its model folder."""

    code = "unsafe_path"


class UnknownFolder(BadRequest):
    code = "unknown_folder"


class UnsupportedMediaType(MendError):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(MendError):
    status = 413
    code = "payload_too_large"


class Forbidden(MendError):
    """A high-risk operation refused by policy (non-loopback listen, host not allowed...)."""

    status = 403
    code = "forbidden"


class HostNotAllowed(Forbidden):
    code = "host_not_allowed"


class ConfirmationRequired(Forbidden):
    code = "confirmation_required"


class CrossOrigin(Forbidden):
    """A web page of another origin asked for something only Mend's own editor (or a trusted origin) may do."""

    code = "cross_origin"


class UntrustedHost(Forbidden):
    """The request names a ``Host`` this server does not answer to (DNS rebinding)."""

    code = "untrusted_host"


class TooManyRequests(MendError):
    """Too many analyses at once; ``retry_after`` (seconds) goes out as the ``Retry-After`` header."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int = 1, **details: object) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class InsufficientStorage(MendError):
    """The disk (or the user's quota) is full: nothing was written."""

    status = 507
    code = "disk_full"


class GatedModel(Forbidden):
    """The hub holds the file behind a licence: accept it on the repository's page and set a token."""

    code = "gated"


class NotFound(MendError):
    status = 404
    code = "not_found"


class Conflict(MendError):
    status = 409
    code = "conflict"


class FileExists(Conflict):
    """A download's target name holds a file Mend cannot tell is the one its source sends."""

    code = "file_exists"


class ManifestCorrupt(MendError):
    """The manifest on disk is not valid TOML: Mend refuses to touch it."""

    status = 409
    code = "manifest_corrupt"


class UpstreamError(MendError):
    """A remote source (catalog channel, registry, hub) failed; ``retryable`` says if trying again may help."""

    status = 502
    code = "upstream_error"

    def __init__(self, message: str, *, retryable: bool = True, **details: object) -> None:
        super().__init__(message, retryable=retryable, **details)
        self.retryable = retryable


class NotAWorkflowFile(BadRequest):
    """A file that is neither JSON nor one of the image, audio or video formats ComfyUI embeds workflows in."""

    code = "not_a_workflow_file"


class NoEmbeddedWorkflow(BadRequest):
    """An image, audio or video file without the ``workflow``/``prompt`` metadata ComfyUI writes."""

    code = "no_embedded_workflow"


class UnusableLink(MendError):
    """A link whose server says a download cannot work (asked before any byte): nothing was stored or started.

    Each outcome of the link probe (``core/catalog/link_probe.py``) has its own code; ``probe`` carries
    what the server said (host, status, the token setting that would open it).
    """

    status = 422
    code = "unusable_link"


class LinkNeedsLogin(UnusableLink):
    code = "link_needs_login"


class LinkNotFound(UnusableLink):
    code = "link_not_found"


class LinkIsWebPage(UnusableLink):
    code = "link_web_page"


class LinkWrongKind(UnusableLink):
    code = "link_wrong_kind"


class LinkUnreachable(UnusableLink):
    code = "link_unreachable"


class LinkRejected(UnusableLink):
    code = "link_rejected"


class LfsPointer(NotAWorkflowFile):
    """A Git LFS pointer saved in place of the file: the content it names was never fetched."""

    code = "lfs_pointer"


class DamagedEmbeddedWorkflow(NoEmbeddedWorkflow):
    """The file carries ``workflow``/``prompt`` metadata, but it is not valid JSON (cut short, badly edited)."""

    code = "damaged_embedded_workflow"
