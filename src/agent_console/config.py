"""Settings: defaults < TOML file in the config dir < AGENT_CONSOLE_* environment < command line."""

from __future__ import annotations

import locale
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

APP_NAME = "agent-console"
ENV_PREFIX = "AGENT_CONSOLE_"
CHANNELS = ("hotline", "hall", "app", "online", "sms", "social")  # models.vocab.Channel


class ConfigError(Exception):
    """A settings file or value that cannot be used; the message is one line for the user."""


def config_dir() -> Path:
    if override := os.environ.get(f"{ENV_PREFIX}CONFIG_DIR"):
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path(APP_NAME)


def data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


def default_lang() -> str:
    """zh when the locale is Chinese, otherwise en."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := os.environ.get(var):
            return "zh" if value.lower().startswith("zh") else "en"
    try:
        loc = locale.getlocale()[0] or ""
    except ValueError:
        loc = ""
    return "zh" if loc.lower().startswith("zh") else "en"


def os_user() -> str:
    """The account this process really runs as (its uid), never LOGNAME or USER."""
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return "agent"


@dataclass(frozen=True)
class Settings:
    """Everything the app and the command line read from their surroundings."""

    db: str = field(default_factory=lambda: str(data_dir() / "agent-console.db"))
    lang: str = field(default_factory=default_lang)
    agent: str = field(default_factory=os_user)
    timezone: str = ""
    refresh_seconds: float = 1.0
    idle_lock_minutes: float = 5.0
    lockout_attempts: int = 5
    lockout_minutes: float = 5.0
    os_user_sign_in: bool = False
    # Where the audit trail's head is written after every audited write ("" = beside the
    # store file, as STORE.witness); for a shared server, a folder only a service account writes.
    audit_witness: str = ""
    audit_syslog: bool = False
    backup_dir: str = ""  # "" = a backups folder beside the store
    backup_keep: int = 7
    backup_every_hours: float = 0.0  # 0: no backups by the console itself
    retention_daily: bool = False
    thin: bool = False  # thin-link mode: 16 colours, no animation, only changes sent, minute clocks
    # Over SSH, thin-link mode is offered when the terminal takes longer than this to answer.
    thin_offer_ms: int = 150
    # Outage SMS: allowed hours in the hall's zone (held outside, never dropped), messages per
    # minute, the language, and the operator's gateway command (one JSON line per message).
    sms_hours: str = "08:00-22:00"
    sms_zone: str = "+08:00"
    sms_rate_per_minute: int = 60
    sms_lang: str = "zh"
    sms_command: str = ""
    # The channel this seat takes contacts on: a hall counter is "hall" (the default channel of a
    # new contact, and the greeting and goodbye its scripts read).
    seat_channel: str = "hotline"
    # The browser console (`agent-console serve`): app sessions open at once on this server, and
    # how long a sign-in on its page may wait before it opens one.
    serve_max_sessions: int = 20
    # Wrong PINs from one address before its sign-ins are refused, and over how many minutes.
    serve_address_attempts: int = 20
    serve_address_minutes: float = 15.0
    serve_sign_in_minutes: float = 10.0

    def with_overrides(self, **values: object) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def _flag(value: object) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


_COERCE = {"db": str, "lang": str, "agent": str, "timezone": str, "refresh_seconds": float,
           "idle_lock_minutes": float, "lockout_attempts": int, "lockout_minutes": float,
           "os_user_sign_in": _flag, "audit_witness": str, "audit_syslog": _flag,
           "backup_dir": str, "backup_keep": int, "backup_every_hours": float,
           "retention_daily": _flag, "thin": _flag, "thin_offer_ms": int,
           "sms_hours": str, "sms_zone": str, "sms_rate_per_minute": int, "sms_lang": str,
           "sms_command": str,
           "seat_channel": str, "serve_max_sessions": int, "serve_sign_in_minutes": float,
           "serve_address_attempts": int, "serve_address_minutes": float}


def _coerce(name: str, value: object) -> object:
    try:
        result = _COERCE[name](value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name!r}: cannot use value {value!r}") from None
    if name == "lang" and result not in ("en", "zh"):
        raise ConfigError(f"setting 'lang': {result!r} is not one of: en, zh")
    if name == "refresh_seconds" and not 0.2 <= float(result) <= 60:
        raise ConfigError("setting 'refresh_seconds': must be between 0.2 and 60")
    if name in ("idle_lock_minutes", "lockout_minutes") and not 0.5 <= float(result) <= 1440:
        raise ConfigError(f"setting {name!r}: must be between 0.5 and 1440 minutes")
    if name == "seat_channel" and result not in CHANNELS:
        raise ConfigError(f"setting 'seat_channel': {result!r} is not one of: {', '.join(CHANNELS)}")
    if name == "lockout_attempts" and not 1 <= int(result) <= 100:
        raise ConfigError("setting 'lockout_attempts': must be between 1 and 100")
    if name == "thin_offer_ms" and not 1 <= int(result) <= 60000:
        raise ConfigError("setting 'thin_offer_ms': must be between 1 and 60000")
    if name == "serve_max_sessions" and not 1 <= int(result) <= 1000:
        raise ConfigError("setting 'serve_max_sessions': must be between 1 and 1000")
    if name == "serve_address_attempts" and not 1 <= int(result) <= 10000:
        raise ConfigError("setting 'serve_address_attempts': must be between 1 and 10000")
    if name == "serve_address_minutes" and not 0.5 <= float(result) <= 1440:
        raise ConfigError("setting 'serve_address_minutes': must be between 0.5 and 1440 minutes")
    if name == "serve_sign_in_minutes" and not 0.5 <= float(result) <= 60:
        raise ConfigError("setting 'serve_sign_in_minutes': must be between 0.5 and 60 minutes")
    if name == "sms_rate_per_minute" and not 1 <= int(result) <= 6000:
        raise ConfigError("setting 'sms_rate_per_minute': must be between 1 and 6000")
    if name == "sms_lang" and result not in ("en", "zh"):
        raise ConfigError(f"setting 'sms_lang': {result!r} is not one of: en, zh")
    if name in ("sms_hours", "sms_zone"):
        from agent_console.services.errors import InputError
        from agent_console.services.sms import QuietHours

        try:
            QuietHours.parse(*(("08:00-22:00", str(result)) if name == "sms_zone"
                               else (str(result), "+08:00")))
        except (InputError, ValueError, KeyError) as exc:
            raise ConfigError(f"setting {name!r}: cannot use value {result!r} ({exc})") from None
    return result


def load_settings(config_file: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Layer the TOML file and the environment over the defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    path = config_file or config_dir() / "config.toml"
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        for key, value in data.items():
            if key not in _COERCE:
                raise ConfigError(f"{path}: unknown setting {key!r} (known: {', '.join(_COERCE)})")
            values[key] = _coerce(key, value)
    for f in fields(Settings):
        if (raw := environ.get(ENV_PREFIX + f.name.upper())) not in (None, ""):
            values[f.name] = _coerce(f.name, raw)
    return Settings(**values)  # type: ignore[arg-type]


def validate_lang(value: str) -> str:
    return str(_coerce("lang", value))
