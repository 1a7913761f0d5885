// The developer portal in a real browser: headless Debian Chromium, driven by playwright-core
// (docs/portal.md#testing). Generates the portal of the demo catalog with the release `acepack`
// and the try-it engine (scripts/test-portal builds both), opens it from file:// — what a user
// opens — checks the publications and their visibility, runs "try it" for an allowed, a 401, a
// 403 and a 404 request and compares each answer with `acepack explain` on the same bundle.
// A screenshot of the package page is saved in target/portal-tests/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const ACEPACK = join(ROOT, "target/release/acepack");
const ENGINE = join(ROOT, "target/browser-engine");
const CATALOG = join(ROOT, "envoy/demo/catalog.yaml");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = join(ROOT, "target/portal-tests");
// The demo catalog's plain keys: they must appear nowhere in the site.
const KEYS = { acme: "acme-live-7f3a9c", ops: "ops-internal-51d2e8" };

let tmp, site, bundle, browser, page;
const offline = [];

function acepack(...args) {
  return execFileSync(ACEPACK, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

before(async () => {
  for (const [what, path] of [["acepack", ACEPACK], ["the try-it engine", join(ENGINE, "acepack_browser.js")], ["chromium", CHROMIUM]]) {
    assert.ok(existsSync(path), `${what} not found at ${path}: run scripts/test-portal (it builds and sets up what this test needs)`);
  }
  tmp = mkdtempSync(join(tmpdir(), "acepack-portal-"));
  site = join(tmp, "site");
  bundle = join(tmp, "demo.bundle");
  acepack("portal", CATALOG, "-o", site, "--engine", ENGINE);
  acepack("compile", CATALOG, "-o", bundle);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives every launch a fresh temporary --user-data-dir.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("request", (r) => { if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) offline.push(r.url()); });
  page.on("pageerror", (e) => offline.push("page error: " + e.message));
});

after(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const url = (rel) => pathToFileURL(join(site, rel)).href;

test("the site embeds no plain key, only what the bundle holds", () => {
  const files = [];
  const walk = (d) => readdirSync(d).forEach((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : files.push(join(d, f))));
  walk(site);
  assert.ok(files.some((f) => f.endsWith("bundle.js")), "the bundle is part of the site");
  for (const f of files) {
    const text = readFileSync(f, "latin1");
    for (const k of Object.values(KEYS)) {
      assert.ok(!text.includes(k), `${f} contains a plain key`);
      assert.ok(!text.includes(Buffer.from(k).toString("base64").slice(0, 12)), `${f} contains a base64 plain key`);
    }
  }
});

test("portal page lists the publications with their visibility", async () => {
  await page.goto(url("index.html"));
  assert.deepEqual(await page.locator("ul.portals a").allTextContents(), ["kong-air-developers"]);
  await page.goto(url("kong-air-developers/index.html"));
  const rows = await page.locator("tr.pub").evaluateAll((rs) => rs.map((r) => [r.dataset.id, r.dataset.visibility, r.cells[3].textContent]));
  assert.deepEqual(rows, [
    ["partners", "private", "private · teams: acme"],
    ["org", "private", "private · no team"],
  ]);
  // The team's own view lists what it may register to, and nothing else.
  await page.goto(url("kong-air-developers/team-acme.html"));
  assert.deepEqual(await page.locator("tr.pub").evaluateAll((rs) => rs.map((r) => r.dataset.id)), ["partners"]);
  mkdirSync(SHOTS, { recursive: true });
  await page.goto(url("kong-air-developers/index.html"));
  await page.screenshot({ path: join(SHOTS, "portal-index.png") });
});

test("package page shows operations, limits, auth and the specification", async () => {
  await page.goto(url("kong-air-developers/package-partners.html"));
  const ops = await page.locator("table.ops tr").evaluateAll((rs) => rs.slice(1).map((r) => [r.cells[0].textContent, r.cells[1].textContent, r.cells[3].textContent]));
  assert.deepEqual(ops.find((o) => o[1] === "/billing/invoices"), ["POST", "/billing/invoices", "2/minute (operation)"]);
  assert.deepEqual(ops.find((o) => o[1] === "/v1/flights"), ["GET", "/v1/flights", "5/minute (package)"]);
  assert.equal(ops.length, 5);
  assert.match(await page.locator("ul.auth").textContent(), /apikey.*x-api-key/);
  // The downloadable specification is the one `acepack spec` prints.
  const href = await page.locator("a[download]").getAttribute("href");
  const onSite = JSON.parse(readFileSync(join(site, "kong-air-developers", href), "utf8"));
  assert.deepEqual(onSite, JSON.parse(acepack("spec", CATALOG, "--package", "partners")));
  assert.equal(await page.locator("section.op").count(), 5);
});

const CASES = [
  { name: "allowed", method: "GET", url: "http://api.kong-air.test/v1/flights", headers: [`apikey: ${KEYS.acme}`], decision: "allow", status: "" },
  { name: "401 without a key", method: "GET", url: "http://api.kong-air.test/v1/flights", headers: [], decision: "deny", status: "401" },
  { name: "403 outside the package", method: "GET", url: "http://api.kong-air.test/billing", headers: [`x-api-key: ${KEYS.acme}`], decision: "deny", status: "403" },
  { name: "404 no operation", method: "DELETE", url: "http://api.kong-air.test/v1/nothing", headers: [`apikey: ${KEYS.acme}`], decision: "deny", status: "404" },
];

test("try it decides as acepack explain does", async () => {
  await page.goto(url("kong-air-developers/package-partners.html"));
  await page.locator("#tryit[data-state=ready]").waitFor({ timeout: 15000 });
  for (const c of CASES) {
    await page.fill("#tryit-method", c.method);
    await page.fill("#tryit-url", c.url);
    await page.fill("#tryit-headers", c.headers.join("\n"));
    await page.evaluate(() => { document.getElementById("tryit-result").hidden = true; });
    await page.click("#tryit button[type=submit]");
    await page.locator("#tryit-result:not([hidden])").waitFor();
    const result = page.locator("#tryit-result");
    assert.equal(await result.getAttribute("data-decision"), c.decision, c.name);
    assert.equal(await result.getAttribute("data-status"), c.status, c.name);
    const shown = await page.locator("#tryit-text").textContent();
    const cli = acepack("explain", bundle, c.method, c.url, ...c.headers.flatMap((h) => ["-H", h]));
    assert.equal(shown, cli, `${c.name}: the page and acepack explain disagree`);
    if (c.name === "allowed") {
      assert.match(await page.locator("#tryit-summary").textContent(), /package partners — limit 5\/minute/);
      mkdirSync(SHOTS, { recursive: true });
      await page.evaluate(() => document.getElementById("tryit").scrollIntoView());
      await page.screenshot({ path: join(SHOTS, "package-partners.png"), fullPage: false });
    }
  }
  await page.screenshot({ path: join(SHOTS, "package-partners-full.png"), fullPage: true });
  assert.deepEqual(offline, [], "the portal fetched nothing from the network and raised no error");
});
