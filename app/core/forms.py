"""The base of every HTML form: WTForms with our translations and the CSRF field.

CSRF itself is checked for every request before any view runs (``app.core.csrf``);
forms only carry the hidden field so templates stay uniform.
"""

from __future__ import annotations

from typing import Any, Self

import email_validator
from quart import request
from wtforms import Form as WTForm
from wtforms import SelectMultipleField
from wtforms.fields.core import Field
from wtforms.widgets import CheckboxInput

from app.core.errors import DomainError
from app.core.i18n import WTFormsTranslations

# ".test" is reserved for testing (RFC 2606): the demo and test accounts live there, and
# their mail only ever lands in the local outbox folder. Other reserved names stay refused.
if "test" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("test")


class Form(WTForm):
    class Meta:
        def get_translations(self, form: Any) -> WTFormsTranslations:
            return WTFormsTranslations()

    #: Errors that belong to the whole form rather than one field.
    form_errors: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.form_errors = []

    @classmethod
    async def from_request(cls, **kwargs: Any) -> Self:
        formdata = await request.form if request.method in ("POST", "PUT", "PATCH") else None
        return cls(formdata=formdata or None, **kwargs)

    def add_error(self, error: DomainError | str, field: str | None = None) -> None:
        """Show a domain error on its field, or at the top of the form."""
        message = error.message if isinstance(error, DomainError) else error
        name = error.field if isinstance(error, DomainError) else field
        target = getattr(self, name, None) if name else None
        if target is not None and hasattr(target, "errors"):
            if isinstance(target.errors, tuple):
                target.errors = list(target.errors)
            target.errors.append(message)
        else:
            self.form_errors.append(message)

    @property
    def error_summary(self) -> list[tuple[str | None, str]]:
        """(field id, message) pairs for the summary at the top of a form: the form's own
        errors first, then each field's in the order the fields are declared (the order the
        page draws them), each message named by its field's label, since "This field is
        required" twice says nothing about which fields."""
        summary: list[tuple[str | None, str]] = [(None, message) for message in self.form_errors]
        for field in self:
            for message in field.errors or ():
                summary.append((summary_anchor(field), f"{field.label.text}: {message}"))
        return summary


def is_checkbox_group(field: Field) -> bool:
    """A multiple choice drawn as a group of checkboxes (a fieldset in the form macros)."""
    return isinstance(field, SelectMultipleField) and isinstance(field.option_widget, CheckboxInput)


def summary_anchor(field: Field) -> str:
    """The id the error summary links to: the field, or a group's first box."""
    return f"{field.id}-0" if is_checkbox_group(field) else field.id


def refused[FormT: Form](form: FormT, error: DomainError) -> FormT:
    """``form`` with a service's refusal at its field (or above it): what a view's
    ``on_refusal`` answer draws again."""
    form.add_error(error)
    return form
