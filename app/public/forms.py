"""Forms of the public face: signing in (by password, link or code) and resetting a password."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app.core.forms import Form
from app.core.i18n import lazy_gettext


class LoginForm(Form):
    email = EmailField(
        lazy_gettext("Email"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class ForgotPasswordForm(Form):
    email = EmailField(
        lazy_gettext("Email"),
        validators=[DataRequired(), Email(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )


class ResetPasswordForm(Form):
    password = PasswordField(
        lazy_gettext("New password"),
        validators=[DataRequired(), Length(min=10, max=1024)],
        description=lazy_gettext(
            "At least 10 characters. A few words in a row are easy to remember."
        ),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        lazy_gettext("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("password", message=lazy_gettext("The passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class SignInLinkForm(Form):
    email = EmailField(
        lazy_gettext("Email"),
        validators=[DataRequired(), Email(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )


class SignInCodeRequestForm(Form):
    login = StringField(
        lazy_gettext("Email or mobile number"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )


class SignInCodeForm(Form):
    code = StringField(
        lazy_gettext("Code from the text message"),
        validators=[DataRequired(), Length(max=20)],
        # Phones offer the digits from the SMS on the keyboard, and a number pad.
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class SecondStepForm(Form):
    code = StringField(
        lazy_gettext("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=lazy_gettext(
            "The six digits your authenticator app shows now, or one of your recovery codes."
        ),
        render_kw={
            "autocomplete": "one-time-code",
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )
    remember = BooleanField(lazy_gettext("Remember this browser for 30 days"))


class EnrolSecondFactorForm(Form):
    code = StringField(
        lazy_gettext("Code from the app"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
