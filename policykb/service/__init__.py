"""The HTTP service (``policykb serve``, docs/service.md): the library's answers over HTTP.

``create_app(ServiceConfig(...))`` returns the Starlette application; ``policykb serve``
runs it under uvicorn.  Modules: ``app`` the factory, ``routes``/``streams``/``kbroutes``
the ``/v1`` routes, ``handling`` query parameters, bodies and the timeout, ``problems``
RFC 9457 errors, ``limits`` the body limit and media types, ``auth`` the bearer token,
``observe`` request ids, Server-Timing and the access log, ``decisionlog`` the decision
log, ``openapi`` the OpenAPI document, ``docs`` the ``/docs`` page, ``state`` the served
KB, ``config`` the settings, ``server`` the command, ``logs`` structured logging,
``bench`` ``policykb bench --http``.
"""

__all__ = ["ServiceConfig", "create_app"]


def __getattr__(name: str):
    # imported on use, so that the command line does not load Starlette to build its parser
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "ServiceConfig":
        from .config import ServiceConfig

        return ServiceConfig
    raise AttributeError(f"module 'policykb.service' has no attribute '{name}'")
