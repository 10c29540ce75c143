"""Credentials never appear in any file or message, whatever form the database URI takes."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.redact import display_uri, scrub, uri_secrets

SECRET = "S3cr3t/p@ss:w0rd"
FORMS = {
    "userinfo": "postgresql://u:S3CRET@127.0.0.1:1/db",
    "query string": "postgresql://127.0.0.1:1/db?user=u&password=S3CRET",
    "slash in password": "postgresql://u:S3/CRET@127.0.0.1:1/db",
    "raw @ in password": "postgresql://u:S3@CRET@127.0.0.1:1/db",
    "percent-encoded": "postgresql://u:S3%2FCRET@127.0.0.1:1/db",
    "keyword DSN": "host=127.0.0.1 port=1 dbname=db user=u password=S3CRET",
    "quoted keyword DSN": "host=127.0.0.1 port=1 user=u password='S3 CRET'",
    "ODBC": "Driver={PostgreSQL};Server=127.0.0.1;Port=1;Uid=u;Pwd=S3CRET;",
    "token": "snowflake://u@acct/db?token=S3CRET&warehouse=w",
    "sslpassword": "postgresql://u@127.0.0.1:1/db?sslpassword=S3CRET",
}


def _secret_of(form: str) -> list[str]:
    if "S3 CRET" in form:
        return ["S3 CRET", "S3%20CRET"]
    if "S3%2FCRET" in form:
        return ["S3%2FCRET", "S3/CRET"]
    for candidate in ("S3/CRET", "S3@CRET", "S3CRET"):
        if candidate in form:
            return [candidate]
    raise AssertionError(form)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_display_form_has_no_secret(form: str) -> None:
    uri = FORMS[form]
    shown = display_uri(uri)
    for secret in _secret_of(uri):
        assert secret.lower() not in shown.lower()
    assert "127.0.0.1" in shown or "acct" in shown  # still says where


@pytest.mark.parametrize("form", sorted(FORMS))
def test_ingest_sql_never_prints_or_writes_the_secret(form: str, tmp_path: Path) -> None:
    uri = FORMS[form]
    err = io.StringIO()
    out = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        status = main(["ingest", "sql", "--uri", uri, "--out", str(tmp_path / "out")])
    assert status == 2
    text = err.getvalue() + out.getvalue()
    assert text.strip()
    for secret in _secret_of(uri):
        assert secret.lower() not in text.lower(), text  # drivers may change the case
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            assert not any(s.lower().encode() in data for s in _secret_of(uri)), path


def test_scrub_masks_decoded_and_encoded_forms() -> None:
    uri = f"postgresql://u:{SECRET.replace('/', '%2F').replace('@', '%40')}@h/db"
    secrets = uri_secrets(uri)
    assert SECRET in secrets
    message = f"could not connect with password {SECRET} to {uri}"
    cleaned = scrub(message, secrets)
    assert cleaned == "could not connect with password *** to postgresql://u:***@h/db"
