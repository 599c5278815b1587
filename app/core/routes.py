"""A view module's routes, kept until its face puts them on the face's blueprint.

``@routes.get("/people/")`` on a view records it and nothing more; the face calls
``routes.register_on(blueprint)`` for each of its view modules, listed in one place,
when the app is made. So importing a module registers nothing, and every endpoint
keeps the face's name (``planning.people_list``), as with one blueprint per face.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from quart import Blueprint

F = TypeVar("F", bound=Callable[..., Any])


class Routes:
    """Views, hooks and handlers of one module, in the order they were declared."""

    def __init__(self) -> None:
        self._steps: list[Callable[[Blueprint], object]] = []

    def register_on(self, blueprint: Blueprint) -> None:
        for step in self._steps:
            step(blueprint)

    def route(self, rule: str, **options: Any) -> Callable[[F], F]:
        def record(view: F) -> F:
            self._steps.append(
                lambda blueprint: blueprint.add_url_rule(rule, view_func=view, **options)
            )
            return view

        return record

    def get(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["GET"], **options)

    def post(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["POST"], **options)

    def put(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["PUT"], **options)

    def patch(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["PATCH"], **options)

    def delete(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["DELETE"], **options)

    def before_request(self, hook: F) -> F:
        self._steps.append(lambda blueprint: blueprint.before_request(hook))
        return hook

    def context_processor(self, processor: F) -> F:
        """Template context for this face's pages."""
        self._steps.append(lambda blueprint: blueprint.context_processor(processor))
        return processor

    def app_context_processor(self, processor: F) -> F:
        """Template context for every page of the app, registered with this face."""
        self._steps.append(lambda blueprint: blueprint.app_context_processor(processor))
        return processor

    def errorhandler(self, error: type[Exception] | int) -> Callable[[F], F]:
        def record(handler: F) -> F:
            self._steps.append(lambda blueprint: blueprint.register_error_handler(error, handler))
            return handler

        return record
