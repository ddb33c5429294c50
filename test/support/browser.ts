import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrowserContext, chromium, Locator, Page, selectors } from "playwright-core";
import { closeDatabases } from "../../src/fiftyone/database";
import { projectRoot } from "../../src/fiftyone/localDatabase";
import { AppServer, startAppServer } from "./appServer";

export const ARTIFACTS = join(projectRoot(), "test-artifacts", "screenshots");

export interface Browser {
  page: Page;
  context: BrowserContext;
  logs: string[];
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, allowed to reach this machine only. */
export async function launchBrowser(): Promise<Browser> {
  selectors.setTestIdAttribute("data-cy"); // FiftyOne's test ids
  const userDataDir = mkdtempSync(join(tmpdir(), "brain-ts-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
    ],
  });
  await context.route(/^(?!https?:\/\/(127\.0\.0\.1|localhost)[:/]).*/, (route) => route.abort());
  await context.addInitScript(() => {
    (window as unknown as { IS_PLAYWRIGHT: boolean }).IS_PLAYWRIGHT = true;
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const logs: string[] = [];
  page.on("console", (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`[pageerror] ${e.message}`));
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    page,
    context,
    logs,
    shot: async (name) => {
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
    },
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export async function openDataset(page: Page, url: string, dataset: string): Promise<void> {
  await page.goto(`${url}/datasets/${encodeURIComponent(dataset)}`);
  await page.getByTestId("spotlight-section-forward").first().waitFor({ timeout: 90_000 });
  // The plugin's operators are registered once its bundle has run.
  await page.waitForFunction(
    () => {
      const w = window as unknown as { __foo__?: { useOperators?: unknown } };
      return Boolean(w.__foo__);
    },
    null,
    { timeout: 30_000 },
  );
}

/** Opens the operator browser, finds an operator by its label, and opens its form. */
export async function openOperator(page: Page, label: string): Promise<void> {
  await page.locator("body").press("Backquote");
  await page.getByTestId("operators-browser").waitFor();
  await page.getByTestId("operators-browser-search").fill(label);
  await page.getByTestId("operators-browser").getByText(label, { exact: true }).click();
  await page.getByTestId("operators-prompt-modal").waitFor();
}

export function executeButton(page: Page) {
  return page.getByTestId("operators-prompt-modal").locator("button", { hasText: /^Execute$/ });
}

/** Forms re-resolve after each change; wait until the App enables Execute. */
export async function waitForExecutable(page: Page, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const buttons = [...document.querySelectorAll("[data-cy=operators-prompt-modal] button")];
      const execute = buttons.find((b) => b.textContent === "Execute") as HTMLButtonElement | undefined;
      return Boolean(execute && !execute.disabled);
    },
    null,
    { timeout },
  );
}

/**
 * Picks `option` in the prompt's `index`-th dropdown and waits for `reveals`, what the choice
 * adds to the form (the App re-resolves the form after each change). A pick that leaves the
 * form unchanged (seen once in CI, cause unknown) is made once more, with a warning that
 * shows what the form showed, so that a second sighting says more.
 */
export async function chooseOption(browser: Browser, index: number, option: string, reveals: Locator): Promise<void> {
  const pick = async () => {
    await browser.page.getByTestId("operators-prompt-modal").locator('[role="combobox"], [aria-haspopup="listbox"]').nth(index).click();
    await browser.page.getByRole("option", { name: option, exact: true }).click();
  };
  await pick();
  try {
    await waitForReveal(browser, option, reveals, 15_000);
  } catch (err) {
    console.warn(`choosing ${option} again: ${(err as Error).message}`);
    await pick();
    await waitForReveal(browser, option, reveals);
  }
}

/** Waits for what choosing `option` adds to the form; else fails with a screenshot, the form's text and the page's last console lines. */
export async function waitForReveal(browser: Browser, option: string, reveals: Locator, timeout = 30_000): Promise<void> {
  try {
    await reveals.first().waitFor({ timeout });
  } catch (err) {
    const name = `failed-choice-${option.replace(/[^a-z0-9_.-]/gi, "_")}`;
    await browser.shot(name).catch(() => undefined);
    const form = await browser.page.getByTestId("operators-prompt-modal").innerText().catch(() => "");
    throw new Error(`${(err as Error).message}\nafter choosing ${option} (screenshot ${name}.png) the form shows:\n${form}\n${browser.logs.slice(-20).join("\n")}`);
  }
}

/** Clicks Execute and waits for the form to close; if it stays, fails with what it says. */
export async function executeForm(page: Page, timeout = 30_000): Promise<void> {
  await waitForExecutable(page);
  await executeButton(page).click();
  const modal = page.getByTestId("operators-prompt-modal");
  try {
    await modal.waitFor({ state: "detached", timeout });
  } catch {
    const text = await modal.innerText().catch(() => "");
    throw new Error(`The operator form did not close after Execute; it shows:\n${text}`);
  }
}

/**
 * The App (FiftyOne's server with this plugin) and Chromium for one test file: started
 * once after `prepare` (the file's datasets), handed to `started`, stopped after its tests.
 */
export function appInChromium(
  prepare: () => Promise<void>,
  started: (session: { app: AppServer; browser: Browser }) => void,
  timeout?: number,
): void {
  let app: AppServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    await prepare();
    app = await startAppServer();
    browser = await launchBrowser();
    started({ app, browser });
  }, timeout);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await closeDatabases();
  });
}
