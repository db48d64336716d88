"""The errors services raise. Each carries a catalog key and its values, so the app and the
command line say it in the user's language; `str()` is the English line for logs and tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ServiceError(Exception):
    """Base of every refusal a service makes on purpose."""

    key = "error.generic"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.params = params

    def localized(self) -> str:
        """The message in the current language (falls back to the English text)."""
        from agent_console.i18n import has_key, t

        if not has_key(self.key):
            return str(self)
        return t(self.key, **{**self.params, "message": str(self)})


class InputError(ServiceError, ValueError):
    """A value a user gave that cannot be used; names the field and what is allowed."""

    def __init__(self, field: str, message: str, *, code: str = "",
                 allowed: Iterable[str] = (), **params: Any) -> None:
        self.field = field
        self.code = code  # "required", "choice", "phone", "too_long" … say it in any language
        self.allowed = tuple(allowed)
        super().__init__(f"{field}: {message}", **params)

    def localized(self) -> str:
        from agent_console.i18n import has_key, t

        key = f"error.bad.{self.code}"
        if not self.code or not has_key(key):
            return str(self)
        label = t(f"field.{self.field}") if has_key(f"field.{self.field}") else self.field
        allowed = "、".join(self.allowed) if _zh() else ", ".join(self.allowed)
        return t(key, field=label, allowed=allowed, **self.params)


class ConflictError(ServiceError):
    """Someone else changed the record since it was read."""

    key = "error.conflict"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was changed by someone else", what=what)


class NotFoundError(ServiceError):
    """The record asked for does not exist (or the actor may not know that it does)."""

    key = "error.not_found"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} does not exist", what=what)


class Refused(ServiceError):
    """The actor's role does not permit this act."""

    key = "error.refused"

    def __init__(self, permission: str, role: str = "") -> None:
        self.permission = permission
        self.role = role
        super().__init__(f"{role or 'unknown'!r} may not {permission.replace('_', ' ')}",
                         permission=permission, role=role)

    def localized(self) -> str:
        from agent_console.i18n import has_key, t

        what = t(f"permission.{self.permission}") if has_key(f"permission.{self.permission}") \
            else self.permission
        return t("error.refused", permission=what)


class OtherSiteError(Refused):
    """The ticket asked for belongs to a site the actor's role does not see."""

    key = "error.other_site"

    def __init__(self, number: str, site: str, role: str = "") -> None:
        Refused.__init__(self, "see_other_sites", role)
        self.args = (f"ticket {number} belongs to site {site}; {role or 'this role'!r} sees "
                     "only its own site's tickets",)
        self.params = {"number": number, "site": site}

    def localized(self) -> str:
        return ServiceError.localized(self)


class BusyError(ServiceError):
    """The store stayed locked by other writers for longer than a person should wait."""

    key = "error.busy"

    def __init__(self) -> None:
        super().__init__("the store is busy; try again")


def _zh() -> bool:
    from agent_console.i18n import current_language

    return current_language() == "zh"
