// SPDX-License-Identifier: Apache-2.0
// test_timeline_ui.mjs - `smolder timeline` in headless Chromium: hovering a bar shows
// its time range and samples per service on the details line, hovering a deploy
// marker shows the deploy, hovering a lost-samples mark shows how many were lost, and
// a hostile service name or version runs no script.
// The store is built with tests/mkstore (planted times) and `smolder deploy`.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

import { assert, run, TIMEOUT_MS } from "./lib.mjs";

// No spaces: mkstore's spec separates fields with them.
const HOSTILE = "<img/src=x/onerror=alert(1)>";
const T0 = 1795000000; // a whole minute
const utc = (s) => new Date(s * 1000).toISOString().slice(0, 19); // as the SVG writes it

// A store with two services over 10 minutes, a hostile third, and two deploys;
// rendered as a timeline. With @lost, the batch of T0 + 120 s (its UTC minute, from
// T0 + 80 s) lost that many samples. Returns the SVG's file URL.
function timeline(t, name, lost = 0) {
	const store = join(t.dir, `${name}.store`);
	const spec = lost ? ["span"] : [];
	for (let s = 0; s < 600; s += 5) {
		spec.push(`${T0 + s} 4 service=api api;main;handle`);
		spec.push(`${T0 + s} 1 service=worker worker;main;loop`);
		if (s % 60 === 0)
			spec.push(`${T0 + s} 2 service=${HOSTILE} x;main`);
		if (lost && s === 120)
			spec.push(`lost ${lost}`);
	}
	writeFileSync(join(t.dir, `${name}.spec`), spec.join("\n") + "\n");
	const mkstore = join(dirname(process.env.SMOLDER), "tests", "mkstore");
	const opts = { stdio: ["pipe", "ignore", "inherit"], timeout: TIMEOUT_MS };
	execFileSync(mkstore, [store], { ...opts, input: spec.join("\n") + "\n" });
	for (const [at, version] of [[T0 + 200, "v2.0"], [T0 + 400, `${HOSTILE}"&`]])
		execFileSync(process.env.SMOLDER, ["deploy", "--store", store, "--service", "api",
			"--version", version, "--time", String(at)], opts);
	const out = join(t.dir, `${name}.svg`);
	execFileSync(process.env.SMOLDER, ["timeline", "--store", store, "--from", String(T0),
		"--to", String(T0 + 600), "-o", out], opts);
	return pathToFileURL(out).href;
}

const ready = () => typeof details !== "undefined" && details !== null;

// The details line once it is not blank.
async function detailsAfterHover(page, selector) {
	await page.locator(selector).first().hover();
	await page.waitForFunction(() => document.getElementById("details").textContent.trim() !== "");
	return page.locator("#details").textContent();
}

await run([
	["hovering a bar shows its range and samples per service", async (t) => {
		const page = await t.open(timeline(t, "bars"), ready);
		const bars = await page.locator("g[data-t0]").count();
		assert(bars > 10, `only ${bars} bars`);
		// The bar at T0 + 60 s holds api 4, worker 1 and the hostile service 2.
		const sel = `g[data-t0="${(T0 + 60).toFixed(3)}"]`;
		assert(await page.locator(sel).count() === 1, `no bar starting at ${T0 + 60}`);
		const d = await detailsAfterHover(page, sel);
		assert(d.includes(utc(T0 + 60)), `no time range in ${JSON.stringify(d)}`);
		assert(/api\D+4\b/.test(d), `no 'api 4' in ${JSON.stringify(d)}`);
		assert(/worker\D+1\b/.test(d), `no 'worker 1' in ${JSON.stringify(d)}`);
		assert(d.includes(HOSTILE), `the hostile service is not shown as text: ${JSON.stringify(d)}`);
		// Moving off clears it.
		await page.mouse.move(1, 1);
		await page.waitForFunction(() => document.getElementById("details").textContent.trim() === "");
	}],

	["hovering a deploy marker shows the deploy", async (t) => {
		const page = await t.open(timeline(t, "deploys"), ready);
		const markers = await page.locator("g[data-t]").count();
		assert(markers === 2, `${markers} deploy markers, not 2`);
		// The marker's label: its line may lie under a bar's edge.
		const d = await detailsAfterHover(page, `g[data-t="${(T0 + 200).toFixed(3)}"] text`);
		assert(d.includes("deploy of") && d.includes("api") && d.includes("v2.0"),
		       `the marker's details: ${JSON.stringify(d)}`);
		assert(d.includes(utc(T0 + 200)), `no deploy time in ${JSON.stringify(d)}`);
	}],

	["hovering a lost-samples mark shows how many were lost", async (t) => {
		// 120 lost over the minute's 60 one-second bars: 2 under each.
		const page = await t.open(timeline(t, "lost", 120), ready);
		const marks = await page.locator("#lostmarks > g").count();
		assert(marks === 60, `${marks} lost-samples marks, not 60`);
		const at = T0 + 100;
		const sel = `#lostmarks > g[data-t0="${at.toFixed(3)}"]`;
		const d = await detailsAfterHover(page, sel);
		assert(d.includes(`${utc(at)}`) && d.includes(": 2 samples lost"),
		       `the mark's details: ${JSON.stringify(d)}`);
		await page.mouse.move(1, 1);
		await page.waitForFunction(() => document.getElementById("details").textContent.trim() === "");
		// The bar above it says so too.
		const b = await detailsAfterHover(page, `#bars > g[data-t0="${at.toFixed(3)}"]`);
		assert(b.includes("2 samples lost"), `the bar's details: ${JSON.stringify(b)}`);
	}],

	["hostile names stay text", async (t) => {
		const page = await t.open(timeline(t, "hostile"), ready);
		await detailsAfterHover(page, `g[data-t="${(T0 + 400).toFixed(3)}"] text`);
		const dom = await page.evaluate(() => ({
			imgs: document.getElementsByTagName("img").length,
			scripts: document.getElementsByTagName("script").length,
			handlers: [...document.querySelectorAll("*")].flatMap((e) =>
				[...e.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name)),
			text: document.documentElement.textContent,
		}));
		assert(dom.imgs === 0, `${dom.imgs} <img> elements`);
		assert(dom.scripts === 1, `${dom.scripts} script elements`);
		assert(dom.handlers.length <= 1, `event handler attributes: ${dom.handlers}`);
		assert(dom.text.includes(HOSTILE), "the hostile name is not in the text");
	}],
]);
