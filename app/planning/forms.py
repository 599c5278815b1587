"""Forms of the back office's administration pages."""

from __future__ import annotations

from datetime import date

from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.accounts.api_tokens import SCOPE_LABELS, SCOPES
from app.core.forms import Form
from app.core.i18n import lazy_gettext
from app.core.models import utcnow
from app.core.models.accounts import API_TOKEN_LIFETIME
from app.core.permissions import ROLE_LABELS, ROLES


class AuditFilterForm(Form):
    code = StringField(lazy_gettext("Event"), validators=[Optional(), Length(max=100)])
    actor = StringField(lazy_gettext("Done by"), validators=[Optional(), Length(max=254)])
    object_type = SelectField(lazy_gettext("Object"), choices=[], validate_choice=False)
    #: One object's history (a person's page links here); kept while filtering.
    object_id = HiddenField(validators=[Optional(), Length(max=18)])
    date_from = DateField(lazy_gettext("From"), validators=[Optional()])
    date_to = DateField(lazy_gettext("To"), validators=[Optional()])


def _a_year_from_today() -> date:
    return utcnow().date() + API_TOKEN_LIFETIME


class ApiTokenForm(Form):
    name = StringField(
        lazy_gettext("Name"),
        validators=[DataRequired(), Length(max=100)],
        description=lazy_gettext("Which system uses the token, e.g. \u201cPayroll export\u201d."),
    )
    scopes = SelectMultipleField(
        lazy_gettext("What it may do"),
        choices=[(scope, SCOPE_LABELS[scope]) for scope in SCOPES],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=lazy_gettext(
            "Only what the other system needs: your website only submits applications."
        ),
    )
    expires_on = DateField(
        lazy_gettext("Works until"),
        validators=[DataRequired()],
        default=_a_year_from_today,
        description=lazy_gettext("The last day the token works; at most three years ahead."),
    )


def role_choices() -> list[tuple[str, str]]:
    return [(role, str(ROLE_LABELS[role])) for role in ROLES]


class AddUserForm(Form):
    name = StringField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(lazy_gettext("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    # Least privilege unless the administrator chooses otherwise.
    role = SelectField(lazy_gettext("Role"), choices=role_choices, default="clerk")


class ChangeRoleForm(Form):
    role = SelectField(lazy_gettext("Role"), choices=role_choices)
