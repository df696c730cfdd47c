// SPDX-License-Identifier: Apache-2.0
// lib.mjs - what every browser test shares: skipping when there is no browser, a
// scratch directory, SVGs rendered by the built smolder from folded text the test
// writes, headless Chromium through playwright-core, and pages that fail the test on
// any dialog, console error or uncaught exception it did not ask for.
//
// A test file is tests/browser/test_NAME.mjs: ctest runs it as browser/test_NAME with
// SMOLDER set to the built binary. It calls run([[name, async (t) => ...], ...]).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const SKIP = 77;
// Generous: the tests share the machine with builds and other tests.
export const TIMEOUT_MS = 60000;

function skip(why) {
	console.log(`SKIP: ${why}`);
	process.exit(SKIP);
}

export function assert(cond, what) {
	if (!cond)
		throw new Error(what);
}

export function near(a, b, what, eps = 0.01) {
	assert(Math.abs(a - b) <= eps, `${what}: ${a} is not ${b}`);
}

// Chromium and playwright-core, or a skip that says how to get them.
async function prerequisites() {
	const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
	if (!existsSync(chromium))
		skip(`no ${chromium} (scripts/deps.sh installs Debian's chromium)`);
	let pw;
	try {
		pw = await import("playwright-core");
	} catch {
		skip("no playwright-core in tests/browser/node_modules (scripts/deps.sh runs npm ci there)");
	}
	if (!process.env.SMOLDER || !existsSync(process.env.SMOLDER)) {
		console.error("SMOLDER must name the built smolder binary (ctest sets it)");
		process.exit(2);
	}
	return { pw: pw.default ?? pw, chromium };
}

// A page that records what it should not do. Dialogs the test expects are answered
// from t.expectPrompt(); any other is dismissed and fails the test.
async function guardedPage(context, t) {
	const page = await context.newPage();
	page.setDefaultTimeout(TIMEOUT_MS);
	page.on("dialog", async (d) => {
		const answer = d.type() === "prompt" ? t.prompts.shift() : undefined;
		if (answer === undefined) {
			t.problems.push(`unexpected ${d.type()} dialog: ${JSON.stringify(d.message())}`);
			await d.dismiss();
		} else {
			await d.accept(answer);
		}
	});
	page.on("console", (m) => {
		if (m.type() === "error")
			t.problems.push(`console error: ${m.text()}`);
	});
	page.on("pageerror", (e) => t.problems.push(`uncaught exception: ${e.message}`));
	return page;
}

// Each test gets a fresh browser context (pages share no history) and its own checks.
class TestContext {
	constructor(context, dir) {
		this.context = context;
		this.dir = dir;
		this.prompts = [];
		this.problems = [];
	}

	// Render @folded (text, or { before, after } for a diff) with `smolder flamegraph`.
	svg(name, folded, args = []) {
		const out = join(this.dir, `${name}.svg`);
		let inputs;
		if (typeof folded === "string") {
			inputs = [join(this.dir, `${name}.folded`)];
			writeFileSync(inputs[0], folded);
		} else {
			inputs = ["--diff", join(this.dir, `${name}.before.folded`),
				  join(this.dir, `${name}.after.folded`)];
			writeFileSync(inputs[1], folded.before);
			writeFileSync(inputs[2], folded.after);
		}
		execFileSync(process.env.SMOLDER, ["flamegraph", ...inputs, ...args, "-o", out],
			     { stdio: ["ignore", "inherit", "inherit"], timeout: TIMEOUT_MS });
		return pathToFileURL(out).href;
	}

	// Open @url and wait until @ready holds in the page (by default: the flame
	// graph's script has read the frames).
	async open(url, ready = () => typeof fg !== "undefined" && fg.root !== null) {
		const page = await guardedPage(this.context, this);
		await page.goto(url);
		await page.waitForFunction(ready);
		return page;
	}

	expectPrompt(answer) {
		this.prompts.push(answer);
	}
}

// Run @tests in order in one headless Chromium; exit 1 if any failed. An argument
// runs only the tests whose names hold it.
export async function run(tests) {
	if (process.argv[2])
		tests = tests.filter(([name]) => name.includes(process.argv[2]));
	const { pw, chromium } = await prerequisites();
	const dir = mkdtempSync(join(tmpdir(), "smolder-browser-"));
	const started = Date.now();
	let browser, failed = 0;

	try {
		browser = await pw.chromium.launch({
			executablePath: chromium,
			headless: true,
			timeout: TIMEOUT_MS,
			// Root (CI) has no user namespace sandbox; /dev/shm may be small in containers.
			args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
			       "--disable-dev-shm-usage", "--disable-gpu"],
		});
		for (const [name, fn] of tests) {
			const t0 = Date.now();
			const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
			const t = new TestContext(context, dir);
			try {
				await fn(t);
				assert(t.problems.length === 0, t.problems.join("; "));
				assert(t.prompts.length === 0, `prompts never asked: ${t.prompts}`);
				console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
			} catch (e) {
				failed++;
				console.log(`FAIL - ${name}: ${e.stack || e}`);
			} finally {
				await context.close();
			}
		}
	} finally {
		if (browser)
			await browser.close();
		rmSync(dir, { recursive: true, force: true });
	}
	console.log(`${tests.length - failed}/${tests.length} passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
	process.exit(failed ? 1 : 0);
}
