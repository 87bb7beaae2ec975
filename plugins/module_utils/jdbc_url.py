# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Read and re-point the host (and port) of the JDBC URLs ScalarDB connects with.

A PITR restore of RDS, Aurora or an Azure flexible server creates a NEW server with a new
endpoint, so each Scalar release's ``scalar.db.contact_points`` must move to it while the
database name and every driver parameter (sslmode, timeouts, ...) stay exactly as the operator
wrote them. This module therefore only splits a URL into ``prefix + host + [:port] + rest`` and
puts it back together; it never re-encodes the rest.

Supported (one host each):

* ``jdbc:postgresql://host[:port]/db?params`` (also ``jdbc:db2://...``)
* ``jdbc:mysql://[user[:password]@]host[:port]/db?params``, ``jdbc:mariadb://...`` and their
  mode variants (``jdbc:mysql:loadbalance://``, ``jdbc:mariadb:sequential://``, ...)
* the AWS Advanced JDBC Wrapper: ``jdbc:aws-wrapper:postgresql|mysql|mariadb://...``
* ``jdbc:sqlserver://host[:port][;property=value...]``
* Oracle thin: ``jdbc:oracle:thin:[user/password]@[//|tcp://|tcps://]host[:port]/service[?params]``
  and ``jdbc:oracle:thin:@host:port:SID``
* IPv6 literals in brackets: ``[::1]:5432``

Everything else (several hosts, ``@(DESCRIPTION=...)``, TNS aliases, DNS SRV, MySQL's
``(host=...)`` / ``address=(...)`` forms, SQL Server named instances or a ``serverName``
property) raises :class:`JdbcUrlError`: guessing there could leave a release pointing at the old
database. Every message shows the URL through :func:`mask_url`, so no credential leaks into
logs.

Plain Python, no Ansible imports.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ansible_collections.scalarops.pitr.plugins.module_utils.redact import MASK, mask_secrets

__all__ = [
    "DEFAULT_PORTS",
    "JdbcUrl",
    "JdbcUrlError",
    "check_endpoint",
    "host_of",
    "is_jdbc_url",
    "mask_url",
    "normalize_host",
    "parse",
    "points_at",
    "rewrite",
    "same_host",
]

# The port each driver uses when the URL names none.
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "sqlserver": 1433, "oracle": 1521, "db2": 50000}

# jdbc:[aws-wrapper:]<engine>[:<mode>...]://  -- the engines whose URLs have a URL-like authority.
_SLASHED = re.compile(r"^(?P<prefix>jdbc:(?:aws-wrapper:)?(?P<engine>postgresql|mysql|mariadb|db2|sqlserver)"
                      r"(?P<mode>(?::[A-Za-z]+)*)(?P<srv>\+srv)?://)", re.IGNORECASE)
_ORACLE = re.compile(r"^(?P<prefix>jdbc:oracle:thin:(?P<user>[^@]*)@(?P<proto>//|tcps?://)?)", re.IGNORECASE)
# A host name or IPv4 address as a driver accepts it; anything else (placeholders, spaces, quotes)
# is refused instead of being carried into a rewritten URL.
_HOST = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_.])?$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+(?:%[\w.\-]+)?$")
_PORT = re.compile(r"^[0-9]{1,5}$")
# user:password@ after "//" (MySQL Connector/J, MariaDB) and user/password@ in Oracle thin URLs.
_SLASHED_USERINFO = re.compile(r"(?P<head>//[^/@:?;\[\]]*:)(?P<secret>[^/@?;]*)(?=@)")
_ORACLE_USERINFO = re.compile(r"(?P<head>^jdbc:oracle:thin:[^/@]*/)(?P<secret>[^@]*)(?=@)", re.IGNORECASE)
_PARAM_SPLIT = re.compile(r"([?&;])")
# SQL Server quotes values holding ";" in braces ("}" doubled inside): password={a;b}}c}.
_BRACED_SECRET = re.compile(r"(?P<head>[\w.\-]*(?:password|passwd|secret|token|credential)[\w.\-]*\s*=\s*)"
                            r"\{(?:[^}]|\}\})*\}", re.IGNORECASE)


class JdbcUrlError(ValueError):
    """A JDBC URL this module cannot read or re-point; the message names the (masked) URL."""


class JdbcUrl(NamedTuple):
    """A JDBC URL split around its host: ``url == prefix + host (bracketed if IPv6) + [":" + port] + rest``."""

    prefix: str       # everything before the host, credentials included (e.g. "jdbc:postgresql://")
    host: str         # as written, without IPv6 brackets
    port: int | None  # as written, or None when the URL relies on the driver's default
    rest: str         # everything after the port, verbatim: "/db?params", ";databaseName=x", ":SID"
    engine: str       # postgresql | mysql | mariadb | sqlserver | oracle | db2

    @property
    def default_port(self) -> int:
        return DEFAULT_PORTS[self.engine]

    @property
    def effective_port(self) -> int:
        """The port the driver connects to."""
        return self.port if self.port is not None else self.default_port

    @property
    def url(self) -> str:
        return self.prefix + _format_host(self.host) + ("" if self.port is None else f":{self.port}") + self.rest


def is_jdbc_url(value: object) -> bool:
    """Whether ``value`` is a string that starts like a JDBC URL (``jdbc:``)."""
    return isinstance(value, str) and value.strip().lower().startswith("jdbc:")


def mask_url(text: str | None) -> str:
    """``text`` (a JDBC URL or any value) with passwords masked: user info and password-like parameters.

    Parameters are masked one by one (split at ``?``, ``&`` and ``;``) so the parameters after a
    password stay readable; the part before the first parameter is left alone apart from the user
    info, so a host named e.g. ``secret-db`` is not mistaken for a ``secret: value`` pair.
    """
    if not text:
        return text or ""
    if not is_jdbc_url(text):
        return mask_secrets(text)
    text = _ORACLE_USERINFO.sub(lambda m: m.group("head") + MASK, text, count=1)
    text = _SLASHED_USERINFO.sub(lambda m: m.group("head") + MASK, text, count=1)
    text = _BRACED_SECRET.sub(lambda m: m.group("head") + MASK, text)
    if text.lower().startswith("jdbc:oracle:") and "(" in text:
        # TNS descriptors nest "(KEY=value)"; mask the whole text the generic way.
        return mask_secrets(text)
    cut = min((i for i in (text.find("?"), text.find(";")) if i >= 0), default=len(text))
    return text[:cut] + "".join(mask_secrets(part) for part in _PARAM_SPLIT.split(text[cut:]))


def normalize_host(host: str) -> str:
    """``host`` as compared: lower case, no IPv6 brackets, no trailing dot (``DB.Example.`` == ``db.example``)."""
    host = str(host).strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".").lower()


def same_host(first: str, second: str) -> bool:
    """Whether two host names are the same endpoint (case-insensitive, trailing dot ignored)."""
    return normalize_host(first) == normalize_host(second)


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _where(url: str) -> str:
    return f"{mask_url(url)}: " if url else ""


def _check_host(host: str, url: str = "") -> str:
    if ":" in host:
        if _IPV6.match(host):
            return host
    elif _HOST.match(host):
        return host
    raise JdbcUrlError(f"{_where(url)}{host!r} is not a host name or IP address")


def _check_port(port: object, url: str = "") -> int:
    text = str(port).strip() if not isinstance(port, bool) else ""
    if _PORT.match(text) and 0 < int(text) < 65536:
        return int(text)
    raise JdbcUrlError(f"{_where(url)}port {port!r} is not a TCP port (1-65535)")


def _unsupported(url: str, why: str) -> JdbcUrlError:
    return JdbcUrlError(f"{mask_url(url)}: {why}; only URLs naming one host[:port] can be re-pointed: write it "
                        f"that way, or set the property yourself (scalar_workloads_properties_set)")


def _split_endpoint(url: str, authority: str, engine: str) -> tuple[str, int | None, str]:
    """(host, port, what followed the port) of ``authority`` = ``host[:port]...`` or ``[v6][:port]...``."""
    if "${" in authority:
        raise _unsupported(url, "the host is a ${...} placeholder, resolved only when ScalarDB starts")
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise JdbcUrlError(f"{mask_url(url)}: the IPv6 address has no closing ']'")
        host, after = authority[1:end], authority[end + 1:]
    else:
        match = re.match(r"[^:/?;]*", authority)
        host = match.group(0) if match else ""
        after = authority[len(host):]
    if not host:
        raise JdbcUrlError(f"{mask_url(url)}: the URL names no host")
    port = None
    if after.startswith(":"):
        match = re.match(r":([^:/?;]*)", after)
        digits = match.group(1) if match else ""
        if engine == "oracle" and digits and not digits.isdigit():
            raise JdbcUrlError(f"{mask_url(url)}: {host}:{digits} names a SID without a port; write @host:1521:{digits}")
        port = _check_port(digits, url)
        after = after[len(digits) + 1:]
    return _check_host(host, url), port, after


def _parse_slashed(url: str, match: re.Match[str]) -> JdbcUrl:
    engine = match.group("engine").lower()
    if match.group("srv"):
        raise _unsupported(url, "a DNS SRV URL names a service record, not a host")
    prefix, remainder = match.group("prefix"), url[match.end():]
    # The authority ends where the database (/), the parameters (?) or, for SQL Server, the properties (;) begin.
    stops = ";" if engine == "sqlserver" else "/?;"
    end = next((i for i, ch in enumerate(remainder) if ch in stops), len(remainder))
    authority = remainder[:end]
    if "@" in authority and engine in ("mysql", "mariadb"):
        userinfo, authority = authority.rsplit("@", 1)
        prefix += userinfo + "@"
    if "(" in authority or "=" in authority:
        raise _unsupported(url, "hosts written as key=value lists (address=(host=...)) are not supported")
    if "," in authority:
        raise _unsupported(url, "it names several hosts")
    if engine == "sqlserver":
        if "\\" in authority:
            raise _unsupported(url, "it names a SQL Server instance (host\\instance), which is found through the "
                                    "SQL Server Browser, not by host and port")
        if re.search(r";\s*(servername|server|address|addr|networkaddress|portnumber|port|instancename)\s*=",
                     remainder, re.IGNORECASE):
            raise _unsupported(url, "it sets the server, port or instance as a property")
    host, port, after = _split_endpoint(url, authority, engine)
    if after:
        raise JdbcUrlError(f"{mask_url(url)}: unexpected {after!r} after the host and port")
    return JdbcUrl(prefix, host, port, remainder[end:], engine)


def _parse_oracle(url: str, match: re.Match[str]) -> JdbcUrl:
    prefix, remainder = match.group("prefix"), url[match.end():]
    if remainder.lstrip().startswith("("):
        raise _unsupported(url, "an Oracle connect descriptor (DESCRIPTION=...) is not supported")
    end = next((i for i, ch in enumerate(remainder) if ch in "/?"), len(remainder))
    authority = remainder[:end]
    if "," in authority:
        raise _unsupported(url, "it names several hosts")
    if not match.group("proto") and ":" not in authority.strip("[]") and end == len(remainder):
        raise _unsupported(url, f"{authority!r} is a TNS alias (tnsnames.ora), not a host")
    host, port, after = _split_endpoint(url, authority, "oracle")
    if after and not (after.startswith(":") and port is not None and not match.group("proto")):
        raise JdbcUrlError(f"{mask_url(url)}: unexpected {after!r} after the host and port")
    return JdbcUrl(prefix, host, port, after + remainder[end:], "oracle")


def parse(url: str) -> JdbcUrl:
    """Split a JDBC URL around its single host; raise :class:`JdbcUrlError` for anything else."""
    if not is_jdbc_url(url):
        raise JdbcUrlError(f"{mask_url(str(url))!r} is not a JDBC URL (jdbc:...)")
    url = url.strip()
    match = _SLASHED.match(url)
    if match:
        return _parse_slashed(url, match)
    match = _ORACLE.match(url)
    if match:
        return _parse_oracle(url, match)
    if re.match(r"^jdbc:(?:aws-wrapper:)?(?:postgresql|mysql|mariadb|db2|sqlserver)\b", url, re.IGNORECASE):
        raise JdbcUrlError(f"{mask_url(url)}: the URL names no host (expected //host[:port] after the engine)")
    raise JdbcUrlError(f"{mask_url(url)}: not a supported JDBC URL; supported are PostgreSQL, MySQL, MariaDB, "
                       f"SQL Server, Db2 (jdbc:<engine>://host[:port]...), the AWS JDBC wrapper "
                       f"(jdbc:aws-wrapper:<engine>://...) and Oracle thin (jdbc:oracle:thin:@host:port/service)")


def host_of(url: str) -> str:
    """The host a JDBC URL points at, as written (IPv6 without brackets)."""
    return parse(url).host


def points_at(url: str, hosts: list[str] | tuple[str, ...]) -> bool:
    """Whether ``url``'s host is one of ``hosts`` (compared with :func:`same_host`)."""
    host = parse(url).host
    return any(same_host(host, candidate) for candidate in hosts)


def check_endpoint(host: object, port: object = None) -> tuple[str, int | None]:
    """``(host, port)`` a URL can be re-pointed to (port None when not given); raise :class:`JdbcUrlError` otherwise.

    ``host`` may be an IPv6 address with or without brackets; ``port`` an int or a string of digits.
    """
    if not isinstance(host, str):
        raise JdbcUrlError(f"{host!r} is not a host name or IP address")
    text = host.strip()
    text = _check_host(text[1:-1] if text.startswith("[") and text.endswith("]") else text)
    return text, (None if port is None or port == "" else _check_port(port))


def rewrite(url: str, host: str, port: int | str | None = None) -> str:
    """``url`` pointed at ``host`` (and ``port``), the database and every parameter kept verbatim.

    ``port``: a URL that names a port gets ``port`` instead (or keeps its own when ``port`` is
    None); a URL that names none gets ``port`` added only where it differs from the driver's
    default, so ``//db/app`` moved to the default port stays ``//new/app``.
    """
    parsed = parse(url)
    host, port = check_endpoint(host, port)
    new_port = parsed.port
    if port is not None and (parsed.port is not None or port != parsed.default_port):
        new_port = port
    return parsed._replace(host=host, port=new_port).url
