"""The gateway's own parts without a broker: CSRF tokens, cookies, headers, rate limits, token cache, multipart."""

import io

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from services.gateway.exchange import Exchange, GatewayState
from services.gateway.multipart import open_upload_form
from services.gateway.security import GatewaySettings, RateLimiter, SecurityHeaders, csrf_token, csrf_valid
from services.gateway.session import AccessTokenCache, access_token_for
from shared.errors import InvalidInput, Unauthenticated


def settings(secure=False):
    return GatewaySettings.from_config({"GATEWAY_SECRET": "s3cret", "GATEWAY_SECURE_COOKIES": secure})


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_csrf_token_is_bound_to_its_session_and_to_the_secret():
    token = csrf_token(settings(), "session-a")
    assert csrf_valid(settings(), "session-a", token)
    assert not csrf_valid(settings(), "session-b", token)
    other_secret = GatewaySettings.from_config({"GATEWAY_SECRET": "another"})
    assert not csrf_valid(other_secret, "session-a", token)
    assert not csrf_valid(settings(), "session-a", None)
    assert not csrf_valid(settings(), None, token)


def test_over_https_the_cookie_is_secure_host_prefixed_and_answers_carry_hsts():
    request = Request(EnvironBuilder(path="/").get_environ())
    exchange = Exchange(request, None, GatewayState(settings(secure=True)), "corr-1")  # type: ignore[arg-type]
    exchange.new_session = "opaque-session"
    cookie = exchange.finish(Response()).headers["Set-Cookie"]
    assert cookie.startswith("__Host-jc_session=opaque-session")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Domain" not in cookie

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b""]

    headers = {}
    SecurityHeaders(app, secure=True)({}, lambda status, items, exc_info=None: headers.update(items))
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["Cache-Control"] == "no-store"


def test_the_rate_limiter_counts_per_client_within_one_minute():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert [limiter.allow("login", "10.0.0.1", 2) for _ in range(3)] == [True, True, False]
    assert limiter.allow("login", "10.0.0.2", 2)
    assert limiter.allow("upload", "10.0.0.1", 2)
    clock.now += 61
    assert limiter.allow("login", "10.0.0.1", 2)


def test_an_access_token_is_cached_until_shortly_before_it_expires():
    clock = Clock()
    cache = AccessTokenCache(clock)
    calls = []

    def refresh(session_token):
        calls.append(session_token)
        return {"access_token": f"token-{len(calls)}", "expires_in": 300}

    assert access_token_for(cache, "s", refresh) == "token-1"
    clock.now += 260
    assert access_token_for(cache, "s", refresh) == "token-1"
    clock.now += 15  # within 30 s of expiry: fetch a fresh one
    assert access_token_for(cache, "s", refresh) == "token-2"
    assert "s" not in cache.entries  # keyed by a hash, never the session token itself


def test_an_ended_session_is_forgotten_and_refused():
    cache = AccessTokenCache()
    cache.remember("s", "old", 1)

    def refresh(session_token):
        raise Unauthenticated("SESSION_ENDED", "Ihre Sitzung ist abgelaufen.")

    with pytest.raises(Unauthenticated):
        access_token_for(cache, "s", refresh)
    with pytest.raises(Unauthenticated) as missing:
        access_token_for(cache, None, refresh)
    assert missing.value.code == "SESSION_REQUIRED"


def multipart(*parts):
    body = b""
    for headers, content in parts:
        body += b"--B\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
    return io.BytesIO(body + b"--B--\r\n")


def test_a_multipart_upload_gives_the_fields_before_the_file_and_then_its_bytes():
    content = bytes(range(256)) * 1000
    stream = multipart(
        (b'Content-Disposition: form-data; name="csrf_token"', b"abc"),
        (b'Content-Disposition: form-data; name="nachweis"', b"arbeitsvertrag"),
        (b'Content-Disposition: form-data; name="datei"; filename="v.pdf"\r\nContent-Type: application/pdf', content),
    )
    form = open_upload_form(stream, "B", 1024)
    assert form.fields == {"csrf_token": "abc", "nachweis": "arbeitsvertrag"}
    assert form.filename == "v.pdf"
    assert b"".join(form.chunks) == content


def test_a_multipart_form_without_a_file_is_refused():
    with pytest.raises(InvalidInput) as refused:
        open_upload_form(multipart((b'Content-Disposition: form-data; name="nachweis"', b"x")), "B", 1024)
    assert refused.value.code == "FILE_REQUIRED"


def test_every_case_status_has_a_german_name_for_citizens() -> None:
    from services.gateway.pages import STATUS_NAMES
    from services.submissions.domainmodel import CaseStatus

    assert set(STATUS_NAMES) == {status.value for status in CaseStatus}


@pytest.mark.parametrize(
    ("raw", "number"),
    [("1.710,55", 1710.55), ("1710,55", 1710.55), ("1710.55", 1710.55), ("1.710", 1710.0), ("12.5", 12.5),
     ("1.234.567", 1234567.0), ("30", 30), ("0,5", 0.5)],
)  # fmt: skip
def test_numbers_are_read_the_german_way_first(raw, number):
    from services.gateway.pages import typed

    assert typed({"type": "number"}, raw) == number
    assert typed({"type": "number"}, "zwölf") == "zwölf"  # the service names the field


@pytest.mark.parametrize("raw", ["1e5", "inf", "nan", "-Infinity", "1_000", "1.2.3", "1,2,3", "0x10", "1.710,5.5", ""])
def test_what_only_python_reads_as_a_number_is_left_as_text_for_the_service_to_name(raw):
    from services.gateway.pages import typed

    assert typed({"type": "number", "format": "euro"}, raw) == raw


@pytest.mark.parametrize(
    ("value", "field", "shown"),
    [(1710.55, {"type": "number", "format": "euro"}, "1710,55"), (2400.0, {"type": "number", "format": "euro"},
     "2400,00"), (30.0, {"type": "number"}, "30"), (38.5, {"type": "number"}, "38,5"), (None, {}, "")],
)  # fmt: skip
def test_numbers_come_back_into_the_form_as_typed_not_as_python_writes_them(value, field, shown):
    from services.gateway.pages import number_input, typed

    assert number_input(value, field) == shown
    if value is not None:
        assert typed(field, shown) == value  # and read back to the same number


def test_staff_read_times_in_german_time_not_utc():
    from services.gateway.pages import short_date, short_time

    assert short_time("2026-12-03T23:30:00+00:00") == "04.12.2026 00:30"  # winter: UTC+1
    assert short_time("2026-07-01T10:05:00+00:00") == "01.07.2026 12:05"  # summer: UTC+2
    assert short_date("2026-12-31T23:10:00+00:00") == "01.01.2027"
    assert short_date("2027-02-15") == "15.02.2027"
    assert short_time(None) == short_date(None) == ""
