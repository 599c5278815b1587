"""Forms of the back office's administration pages."""

from __future__ import annotations

from wtforms import DateField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.core.forms import Form
from app.core.i18n import lazy_gettext
from app.core.permissions import ROLE_LABELS, ROLES


class AuditFilterForm(Form):
    code = StringField(lazy_gettext("Event"), validators=[Optional(), Length(max=100)])
    actor = StringField(lazy_gettext("Done by"), validators=[Optional(), Length(max=254)])
    object_type = SelectField(lazy_gettext("Object"), choices=[], validate_choice=False)
    date_from = DateField(lazy_gettext("From"), validators=[Optional()])
    date_to = DateField(lazy_gettext("To"), validators=[Optional()])


class ApiTokenForm(Form):
    name = StringField(
        lazy_gettext("Name"),
        validators=[DataRequired(), Length(max=100)],
        description=lazy_gettext("Which system uses the token, e.g. \u201cPayroll export\u201d."),
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
