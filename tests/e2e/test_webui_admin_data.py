"""The node admin's Data tab (web/js/views/admin/data.js): the admin opens it, picks a table, runs SQL
with Ctrl+Enter, sees the rows (private columns as NULL, a runaway query stopped), and downloads the
answer as CSV. Screenshots: test-artifacts/screenshots/admin-data-*.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from cryb_plugins.users.service import CLI, USERS
from playwright.async_api import expect

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import make_config
from tests.e2e.test_webui_dashboards import sign_in
from tests.e2e.webui import DESKTOP, PHONE, new_page, shoot
from tests.users_fixtures import FAST_HASHING, PASSWORD

pytestmark = pytest.mark.browser


async def test_admin_reads_the_database_in_the_data_tab_and_exports_csv(
    aiohttp_server, tmp_path: Path, browser
):
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": FAST_HASHING},
        rate_limits={"enabled": False},
        db={"console": {"timeout_ms": 700}},
    )
    server = await aiohttp_server(build_app(cfg))
    base, node = f"http://127.0.0.1:{server.port}", server.app[NODE]
    users = node.services.require(USERS)
    await users.create_account(
        "nodeadmin", "nodeadmin@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    for name in ("ada", "bob"):
        await users.create_account(name, f"{name}@example.test", PASSWORD, client=CLI, session=False)

    page = await new_page(browser, accept_downloads=True)
    await sign_in(page, base, "nodeadmin")
    await page.get_by_role("link", name="Node admin").click()
    await page.get_by_role("tab", name="Data").click()
    await page.wait_for_url("**/admin?tab=data")

    # The table list, with row counts from the database.
    tables = page.get_by_role("navigation", name="Tables")
    accounts = tables.locator('button[data-table="users_accounts"]')
    await expect(accounts.locator(".db-count")).to_have_text("3")

    # Picking a table shows its first rows.
    await tables.locator('button[data-table="users_profiles"]').click()
    sql = page.get_by_label("SQL query")
    await expect(sql).to_have_value('SELECT * FROM "users_profiles" LIMIT 100')
    results = page.get_by_role("region", name="Query results")
    await expect(results.locator("thead th").first).to_have_text("user_id")
    await expect(results.locator("tbody tr")).to_have_count(3)
    await expect(page.get_by_role("status", name="Query status")).to_contain_text("3 rows")

    # SQL typed and run with Ctrl+Enter; the private column reads as NULL and is named.
    await sql.fill("SELECT username, admin, password_hash FROM users_accounts ORDER BY username")
    await sql.press("Control+Enter")
    await expect(results.locator("tbody tr")).to_have_count(3)
    texts = await results.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
    )
    assert texts == [["ada", "0", "NULL"], ["bob", "0", "NULL"], ["nodeadmin", "1", "NULL"]]
    await expect(results.locator(".db-hidden")).to_have_text(
        "Private, shown as NULL: users_accounts.password_hash"
    )
    await shoot_both(page, "admin-data")

    # Export CSV downloads the query's rows (all of them, as the node writes them).
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Export CSV").click()
    download = await info.value
    assert download.suggested_filename == "query.csv"
    rows = list(csv.reader(io.StringIO(Path(await download.path()).read_text())))
    assert rows == [
        ["username", "admin", "password_hash"],
        ["ada", "0", ""],
        ["bob", "0", ""],
        ["nodeadmin", "1", ""],
    ]
    await expect(page.get_by_role("status", name="Query status")).to_have_text("Downloaded query.csv")

    # A write is refused; a runaway query is stopped within the node's budget.
    await sql.fill("DELETE FROM users_profiles")
    await page.get_by_role("button", name="Run").click()
    await expect(results.get_by_role("alert")).to_contain_text("DELETE is not allowed")
    await sql.fill("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r")
    await sql.press("Control+Enter")
    await expect(results.get_by_role("alert")).to_contain_text("ran past its 700 ms budget")
    assert await node.db.fetchval("SELECT count(*) FROM users_profiles") == 3

    # More rows than the default limit: the page says it shows only the first ones.
    await sql.fill("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n")
    await sql.press("Control+Enter")
    await expect(results.locator(".db-truncated")).to_have_text("Truncated at 1000 rows.")
    assert page.errors == [] and page.external_requests == []


async def shoot_both(page, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(150)
        await shoot(page, f"{name}-{label}")
    await page.set_viewport_size(DESKTOP)
