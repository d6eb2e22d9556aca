"""HTTP gateway concerns: request ids, problem+json errors, validation, body limits, rate limits,
metrics, readiness and the OpenAPI document."""

from __future__ import annotations

import json
import logging

import pytest
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from cryb_node.app import build_app
from tests.conftest import make_config


async def test_request_id_is_echoed_or_generated(client):
    resp = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"
    resp = await client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert len(resp.headers["X-Request-Id"]) == 32


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/no/such/route", 404, "not_found"), ("DELETE", "/healthz", 405, "method_not_allowed")],
)
async def test_unknown_routes_and_methods_answer_problem_json(client, method, path, status, code):
    resp = await client.request(method, path)
    assert resp.status == status
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert (
        body["code"] == code
        and body["status"] == status
        and body["request_id"] == resp.headers["X-Request-Id"]
    )


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"text": ""}, "text", "invalid_field"),
        ({"text": "x" * 201}, "text", "invalid_field"),
        ({"text": 5}, "text", "invalid_field"),
        ({"txt": "hello"}, "txt", "invalid_field"),  # the unknown key is named
        ({}, "text", "invalid_field"),  # and so is a missing one
    ],
)
async def test_invalid_body_is_400_naming_the_field_and_writes_nothing(client, payload, field, code):
    resp = await client.post("/api/v1/demo/notes", json=payload)
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == code
    assert body.get("field") == field
    listing = await (await client.get("/api/v1/demo/notes")).json()
    assert listing["notes"] == []


async def test_malformed_json_and_missing_body_are_400(client):
    resp = await client.post(
        "/api/v1/demo/notes", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_json"
    resp = await client.post("/api/v1/demo/notes")
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_body"


async def test_invalid_query_is_400_naming_the_parameter(client):
    resp = await client.get("/api/v1/demo/notes", params={"limit": "1000"})
    body = await resp.json()
    assert resp.status == 400 and body["field"] == "limit" and body["code"] == "invalid_query"


async def test_oversized_body_is_413(aiohttp_client, tmp_path):
    client = await aiohttp_client(build_app(make_config(tmp_path / "d", server={"max_body_bytes": 1000})))
    resp = await client.post(
        "/api/v1/demo/notes", data=b"x" * 5000, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert (await resp.json())["code"] == "payload_too_large"

    async def chunks():
        for _ in range(10):
            yield b"y" * 500

    resp = await client.post(
        "/api/v1/demo/notes", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413


async def test_created_note_round_trips(client):
    resp = await client.post("/api/v1/demo/notes", json={"text": "hello"})
    assert resp.status == 201
    note = await resp.json()
    got = await client.get(f"/api/v1/demo/notes/{note['id']}")
    assert (await got.json()) == {"id": note["id"], "text": "hello"}
    missing = await client.get("/api/v1/demo/notes/nope")
    assert missing.status == 404 and (await missing.json())["detail"] == "note not found"


async def test_flooding_one_bucket_gives_429_with_headers_and_leaves_others_alone(aiohttp_client, tmp_path):
    cfg = make_config(tmp_path / "d", rate_limits={"buckets": {"demo": {"limit": 5, "window_s": 30}}})
    client = await aiohttp_client(build_app(cfg))
    statuses = []
    for i in range(8):
        resp = await client.post("/api/v1/demo/notes", json={"text": f"n{i}"})
        statuses.append(resp.status)
        if resp.status == 201:
            assert resp.headers["X-RateLimit-Bucket"] == "demo"
            assert resp.headers["X-RateLimit-Limit"] == "5"
            assert int(resp.headers["X-RateLimit-Remaining"]) == 4 - i
    assert statuses == [201] * 5 + [429] * 3
    assert resp.headers["Retry-After"] and 1 <= int(resp.headers["Retry-After"]) <= 30
    assert float(resp.headers["X-RateLimit-Reset-After"]) <= 30
    assert float(resp.headers["X-RateLimit-Reset"]) > 1.7e9
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    body = await resp.json()
    assert body["code"] == "rate_limited"
    other = await client.get("/api/v1/demo/notes")
    assert other.status == 200 and other.headers["X-RateLimit-Bucket"] == "default"
    listing = await other.json()
    assert len(listing["notes"]) == 5  # the refused writes wrote nothing


async def test_metrics_parse_and_show_the_request_histogram(client):
    await client.get("/healthz")
    await client.post("/api/v1/demo/notes", json={"text": "m"})
    text = await (await client.get("/metrics")).text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    hist = families["cryb_http_request_duration_seconds"]
    routes = {(s.labels["method"], s.labels["route"]) for s in hist.samples if s.name.endswith("_count")}
    assert ("GET", "/healthz") in routes and ("POST", "/api/v1/demo/notes") in routes
    assert families["cryb_event_log_length"].samples[0].value == 1
    lag = {s.labels["consumer"]: s.value for s in families["cryb_consumer_lag_events"].samples}
    assert "demo.tally" in lag
    assert families["cryb_db_write_transactions"].samples[0].value >= 1


async def test_openapi_document_is_valid_3_1_and_covers_every_route(client):
    doc = await (await client.get("/api/openapi.json")).json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    post = doc["paths"]["/api/v1/demo/notes"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NoteIn"
    }
    assert doc["components"]["schemas"]["NoteIn"]["properties"]["text"]["maxLength"] == 200
    assert "429" in post["responses"]
    params = doc["paths"]["/api/v1/demo/notes"]["get"]["parameters"]
    assert params[0]["name"] == "limit" and params[0]["schema"]["maximum"] == 100
    for path in ("/healthz", "/readyz", "/metrics", "/api/v1/node", "/api/v1/demo/notes/{note_id}"):
        assert path in doc["paths"]


async def test_readyz_reports_each_check_and_goes_503_when_a_plugin_is_not_ready(
    aiohttp_client, tmp_path, client
):
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200 and body["checks"]["db"]["ok"] and body["checks"]["demo"]["ok"]
    sick = await aiohttp_client(build_app(make_config(tmp_path / "sick", plugin={"demo": {"ready": False}})))
    resp = await sick.get("/readyz")
    body = await resp.json()
    assert resp.status == 503 and body["status"] == "not_ready"
    assert body["checks"]["demo"] == {"ok": False, "detail": "demo says not ready"}


async def test_each_request_logs_one_json_line_without_client_address(client, caplog):
    from cryb_node.logs import JsonFormatter

    caplog.set_level(logging.INFO, logger="cryb.http")
    await client.get("/api/v1/demo/notes", headers={"X-Request-Id": "log-me"})
    records = [r for r in caplog.records if r.name == "cryb.http" and r.fields["request_id"] == "log-me"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["route"] == "/api/v1/demo/notes" and line["status"] == 200 and line["method"] == "GET"
    assert "duration_ms" in line and "127.0.0.1" not in json.dumps(line)


async def test_bearer_token_without_an_authenticator_is_401(client):
    resp = await client.get("/api/v1/node", headers={"Authorization": "Bearer whatever"})
    assert resp.status == 401 and (await resp.json())["code"] == "invalid_token"


async def test_hsts_only_when_the_node_is_served_over_https(aiohttp_client, tmp_path, client):
    plain = await client.get("/healthz")
    assert "Strict-Transport-Security" not in plain.headers
    tls = await aiohttp_client(
        build_app(make_config(tmp_path / "tls", node={"base_url": "https://cryb.example"}))
    )
    resp = await tls.get("/healthz")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")


async def test_security_headers_are_set(client):
    """A page (and the service worker) gets the full policy; JSON, scripts and styles, which are
    never a page of their own, get the strictest short one; no response names server versions."""
    page = await client.get("/")
    assert page.content_type == "text/html"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    worker = await client.get("/sw.js")
    assert "default-src 'self'" in worker.headers["Content-Security-Policy"]
    answers = [page, worker]
    for path in ("/api/v1/node", "/api/v1/no-such-route"):
        resp = await client.get(path)
        assert resp.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'", path
        answers.append(resp)
    for resp in answers:
        assert resp.headers["Server"] == "cryb", resp.url
        assert resp.headers["X-Content-Type-Options"] == "nosniff", resp.url
    # The UI's immutable files carry no request id unless they fail; API answers always do.
    asset = next(p for p in (await page.text()).split('"') if p.startswith("/assets/") and p.endswith(".js"))
    script = await client.get(asset)
    assert script.status == 200 and "X-Request-Id" not in script.headers
    missing = await client.get(asset.rsplit("/", 1)[0] + "/no-such-module.js")
    assert missing.status == 404 and len(missing.headers["X-Request-Id"]) == 32
    assert "X-Request-Id" in answers[2].headers
