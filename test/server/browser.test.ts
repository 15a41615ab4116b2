/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core. Search → artifact → the job that
 * produced it → an upstream artifact, by clicking; hostile strings in commands and paths stay text (no script
 * runs); screenshots are kept under test-results/.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { REPO_ROOT, tempDir } from "../helpers/cli.ts";
import { api, digest, type Registry, startRegistry } from "../helpers/glaas.ts";
import { A, registerPipeline, SESSION } from "./pipeline.ts";

const T = 180_000;
const CHROMIUM = "/usr/bin/chromium";
const RESULTS = join(REPO_ROOT, "test-results");
const EVIL_COMMAND = `python x.py --name "<script>alert('xss')</script>"`;
const EVIL_PATH = `"><img src=x onerror=alert(1)>.csv`;
const EVIL = digest("evil");

let reg: Registry;
let browser: BrowserContext;
let page: Page;
const dialogs: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  reg = await startRegistry({ GLAAS_DATABASE_URL: `sqlite:${join(tempDir("glaas-ui-"), "reg.db")}` });
  await registerPipeline(reg.url);
  const job = { job_uid: "e0000001", command: EVIL_COMMAND, step_number: 4, timestamp: 1_700_000_400 };
  await api(reg.url, "POST", `/api/v1/sessions/${SESSION}/jobs`, { body: job });
  await api(reg.url, "POST", `/api/v1/sessions/${SESSION}/jobs/e0000001/inputs`, {
    body: { artifacts: [{ hash: A.report, path: "report.html" }] },
  });
  await api(reg.url, "POST", `/api/v1/sessions/${SESSION}/jobs/e0000001/outputs`, {
    body: { artifacts: [{ hash: EVIL, path: EVIL_PATH, size: 7 }] },
  });
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: run 'bun scripts/setup.ts' (installs Debian's chromium)`);
  browser = await chromium.launchPersistentContext(tempDir("chromium-profile-"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  mkdirSync(RESULTS, { recursive: true });
}, T);

afterAll(async () => {
  await browser?.close();
  await reg?.stop();
});

test(
  "search → artifact → producing job → upstream artifact, by clicking",
  async () => {
    await page.goto(`${reg.url}/`);
    expect(await page.title()).toBe("Artifacts · GLaaS");
    await page.getByRole("link", { name: "Search", exact: true }).click();
    await page.getByLabel("File type").fill("pt");
    await page.getByRole("button", { name: "Search" }).last().click();
    await page.waitForURL(/\/search\?/);
    expect(page.url()).toContain("type=pt");
    expect(page.url()).not.toContain("command="); // empty fields are left out by the page's script
    await expect(page.locator("section.results h2").textContent()).resolves.toBe("1 artifact");

    await page.locator("section.results a.hash").first().click();
    await page.waitForURL(`${reg.url}/artifact/${A.model}`);
    await expect(page.locator("#digest").textContent()).resolves.toBe(A.model);
    // The upstream lineage graph: SVG nodes for the jobs and artifacts on the model's paths.
    expect(await page.locator("figure.graph svg g.node.step").count()).toBe(2);
    expect(await page.locator("figure.graph svg g.node.artifact").count()).toBe(3);
    await page.screenshot({ path: join(RESULTS, "registry-artifact.png"), fullPage: true });

    await page.locator("h2:has-text('Produced by') + ul a.job").first().click();
    await page.waitForURL(`${reg.url}/job/${SESSION}/a0000002`);
    await expect(page.locator("pre.command").textContent()).resolves.toBe(
      "python train.py --data features.parquet --output model.pt --epochs 10",
    );
    await expect(page.locator("dl.facts").textContent()).resolves.toContain("NVIDIA A100");

    await page.locator("h2:has-text('Inputs') + table a.hash").first().click();
    await page.waitForURL(`${reg.url}/artifact/${A.features}`);
    await expect(page.locator("#digest").textContent()).resolves.toBe(A.features);
    await expect(page.locator("h2:has-text('Produced by') + ul").textContent()).resolves.toContain("preprocess.py");

    // A node of the graph is a link too: the producing job of features.parquet.
    await page.locator("figure.graph svg g.node.step a").first().click();
    await page.waitForURL(`${reg.url}/job/${SESSION}/a0000001`);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  },
  T,
);

test(
  "hostile commands and paths are shown as text; session graph and sortable browsers",
  async () => {
    await page.goto(`${reg.url}/artifact/${EVIL}`);
    await expect(page.locator("h2:has-text('Produced by') + ul").textContent()).resolves.toContain(EVIL_COMMAND);
    await page.goto(`${reg.url}/job/${SESSION}/e0000001`);
    await expect(page.locator("pre.command").textContent()).resolves.toBe(EVIL_COMMAND);
    await expect(page.locator("h2:has-text('Outputs') + table td.path").textContent()).resolves.toBe(EVIL_PATH);
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator("main script").count()).toBe(0);

    await page.goto(`${reg.url}/dag/${SESSION}`);
    expect(await page.locator("figure.graph svg g.node.step").count()).toBe(5);
    // The session's jobs are listed in step order, without sort links.
    expect(await page.locator("table.jobs th a").count()).toBe(0);
    expect(await page.locator("table.jobs tbody td:first-child").allTextContents()).toEqual([
      "@B1",
      "@1",
      "@2",
      "@3",
      "@4",
    ]);
    await page.screenshot({ path: join(RESULTS, "registry-session.png"), fullPage: true });

    await page.goto(`${reg.url}/jobs`);
    await page.getByRole("link", { name: "Duration" }).click();
    await page.getByRole("link", { name: /Step/ }).click();
    await page.waitForURL(/sort=step&order=desc/);
    const steps = await page.locator("table.jobs tbody tr td:first-child").allTextContents();
    expect(steps[0]).toBe("@4");
    await page.goto(`${reg.url}/?limit=2`);
    await page.getByRole("link", { name: "Next →" }).click();
    await expect(page.locator(".pager span:has-text('Page')").textContent()).resolves.toContain("Page 2 of");
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  },
  T,
);
