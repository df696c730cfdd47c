// SPDX-License-Identifier: Apache-2.0
// test_flamegraph_ui.mjs - the flame graph SVG's script in a real browser: click to
// zoom, reset, search (button, Ctrl-F, "/") with the matched share, the view kept in
// the URL and restored from it, tooltips and the details line, a diff's before shape,
// and frame names that must stay inert text.
import { assert, near, run } from "./lib.mjs";

const FULL = 1180; // the default 1200 px width less two 10 px margins
const MATCH_FILL = "rgb(230,0,230)";

// 10,000 samples: compute 60%, parse 30%, io_wait (kernel) 10%.
const PLAIN = [
	"app;main;compute;hot_loop 5000",
	"app;main;compute;cold_path 1000",
	"app;main;parse;tokenize 2500",
	"app;main;parse 500",
	"app;main;io_wait_[k] 1000",
].join("\n") + "\n";

// old_func (60% before) vanished; new_func appeared; hot_loop grew from 40% to 90%.
const DIFF = {
	before: "app;main;old_func 600\napp;main;compute;hot_loop 400\n",
	after: "app;main;compute;hot_loop 900\napp;main;new_func 100\n",
};

// The frame named @name as the DOM shows it now: its rect's geometry and fill, the
// width it is drawn at, whether it is hidden, its label, title and index among frames.
function frame(page, name) {
	return page.evaluate((name) => {
		const gs = [...document.querySelectorAll("#frames > g")];
		for (let i = 0; i < gs.length; i++) {
			const g = gs[i], title = g.querySelector("title").textContent;
			if (title.slice(0, title.lastIndexOf(" (")) !== name)
				continue;
			const r = g.querySelector("rect");
			return {
				index: i, title, cls: g.getAttribute("class"),
				x: parseFloat(r.getAttribute("x")), width: parseFloat(r.getAttribute("width")),
				drawn: r.getBoundingClientRect().width,
				hidden: getComputedStyle(g).display === "none",
				fill: r.getAttribute("fill"), label: g.querySelector("text").textContent,
			};
		}
		return null;
	}, name);
}

async function mustFrame(page, name) {
	const f = await frame(page, name);
	assert(f, `no frame ${JSON.stringify(name)}`);
	return f;
}

async function click(page, name) {
	const f = await mustFrame(page, name);
	assert(!f.hidden, `${name} is hidden and cannot be clicked`);
	await page.locator("#frames > g").nth(f.index).click();
}

async function hover(page, name) {
	const f = await mustFrame(page, name);
	await page.locator("#frames > g").nth(f.index).hover();
}

const text = (page, id) => page.locator(`#${id}`).textContent();
const params = (page) => new URL(page.url()).searchParams;

async function waitText(page, id, want) {
	try {
		await page.waitForFunction(([id, want]) =>
			document.getElementById(id).textContent === want, [id, want]);
	} catch (e) {
		throw new Error(`#${id} says ${JSON.stringify(await text(page, id))}, ` +
				`not ${JSON.stringify(want)}: ${e.message}`);
	}
}

// Full width drawn, and by the rect's own attributes.
async function assertWidth(page, name, want) {
	const f = await mustFrame(page, name);
	assert(!f.hidden, `${name} is hidden`);
	near(f.width, want, `${name}'s rect width`);
	near(f.drawn, want, `${name}'s drawn width`, 0.5);
}

run([
	["click zooms a frame to full width, and its children in proportion", async (t) => {
		const page = await t.open(t.svg("plain", PLAIN));
		await assertWidth(page, "compute", 0.6 * FULL);
		await assertWidth(page, "hot_loop", 0.5 * FULL);
		assert((await page.locator("#unzoom").getAttribute("class")) === "hide",
		       "Reset Zoom shows before any zoom");

		await click(page, "compute");
		await assertWidth(page, "compute", FULL);
		await assertWidth(page, "hot_loop", (5 / 6) * FULL);
		await assertWidth(page, "cold_path", (1 / 6) * FULL);
		assert((await mustFrame(page, "main")).cls === "parent", "main is not dimmed as a parent");
		near((await mustFrame(page, "main")).width, FULL, "main spans the zoom");
		assert((await mustFrame(page, "parse")).hidden, "parse, a sibling, still shows");
		assert((await mustFrame(page, "tokenize")).hidden, "tokenize still shows");
		assert((await mustFrame(page, "hot_loop")).label === "hot_loop", "hot_loop's label");
		assert((await page.locator("#unzoom").getAttribute("class")) === null,
		       "Reset Zoom is not shown");
	}],

	["reset zoom restores every frame", async (t) => {
		const page = await t.open(t.svg("plain", PLAIN));
		const widths = {};
		for (const n of ["compute", "parse", "tokenize", "io_wait_[k]"])
			widths[n] = (await mustFrame(page, n)).width;
		await click(page, "tokenize");
		await assertWidth(page, "tokenize", FULL);
		await page.locator("#unzoom").click();
		for (const n of Object.keys(widths))
			await assertWidth(page, n, widths[n]);
		assert((await mustFrame(page, "main")).cls === null, "main stays dimmed");
		assert((await page.locator("#unzoom").getAttribute("class")) === "hide",
		       "Reset Zoom still shows");
		assert(!params(page).has("x") && !params(page).has("y"), `zoom left in ${page.url()}`);
	}],

	["search highlights the matches and shows the matched share", async (t) => {
		const page = await t.open(t.svg("plain", PLAIN));
		const fill = (await mustFrame(page, "compute")).fill;

		t.expectPrompt("hot_loop|tokenize");
		await page.locator("#search").click();
		await waitText(page, "matched", "Matched: 75.0%");
		assert((await mustFrame(page, "hot_loop")).fill === MATCH_FILL, "hot_loop not highlighted");
		assert((await mustFrame(page, "tokenize")).fill === MATCH_FILL, "tokenize not highlighted");
		assert((await mustFrame(page, "compute")).fill === fill, "compute highlighted");
		assert((await text(page, "search")) === "Reset Search", "no Reset Search");

		// Keyboard: Ctrl-F and "/"; a match inside a match counts once.
		t.expectPrompt("compute|hot");
		await page.keyboard.press("Control+f");
		await waitText(page, "matched", "Matched: 60.0%");
		t.expectPrompt("_\\[k\\]$");
		await page.keyboard.press("/");
		await waitText(page, "matched", "Matched: 10.0%");
		assert((await mustFrame(page, "io_wait_[k]")).fill === MATCH_FILL, "io_wait not highlighted");

		t.expectPrompt("(unclosed");
		await page.keyboard.press("/");
		await page.waitForFunction(() =>
			document.getElementById("matched").textContent.startsWith("Bad regex"));

		await page.locator("#search").click(); // Reset Search
		await waitText(page, "search", "Search");
		assert((await mustFrame(page, "hot_loop")).fill !== MATCH_FILL, "reset left highlights");
		assert(!params(page).has("s"), `search left in ${page.url()}`);
	}],

	["the URL keeps zoom and search, and a reload restores them", async (t) => {
		const page = await t.open(t.svg("plain", PLAIN));
		const compute = await mustFrame(page, "compute");
		await click(page, "compute");
		t.expectPrompt("hot");
		await page.keyboard.press("Control+f");
		await waitText(page, "matched", "Matched: 50.0%");
		const q = params(page);
		assert(q.get("s") === "hot", `s in ${page.url()}`);
		near(parseFloat(q.get("x")), compute.x, "x in the URL is compute's", 1e-4);
		assert(q.has("y"), `no y in ${page.url()}`);

		const again = await t.open(page.url());
		await assertWidth(again, "compute", FULL);
		await assertWidth(again, "hot_loop", (5 / 6) * FULL);
		assert((await mustFrame(again, "parse")).hidden, "parse shows after the reload");
		await waitText(again, "matched", "Matched: 50.0%");
		assert((await mustFrame(again, "hot_loop")).fill === MATCH_FILL, "hot_loop not highlighted");
		assert(again.url() === page.url(), `the reload rewrote the URL: ${again.url()}`);

		// A link to a frame that is not there, or a bad regex, opens the whole graph.
		const base = page.url().split("?")[0];
		const odd = await t.open(`${base}?x=3.5&y=nope&s=(`);
		await assertWidth(odd, "compute", 0.6 * FULL);
		await odd.waitForFunction(() =>
			document.getElementById("matched").textContent.startsWith("Bad regex"));
	}],

	["tooltips and the details line show the counts", async (t) => {
		const page = await t.open(t.svg("plain", PLAIN));
		const tokenize = await mustFrame(page, "tokenize");
		assert(tokenize.title === "tokenize (2,500 samples, 25.00%)", `title: ${tokenize.title}`);
		await hover(page, "tokenize");
		await waitText(page, "details", "tokenize (2,500 samples, 25.00%)");
		await hover(page, "io_wait_[k]");
		await waitText(page, "details", "io_wait_[k] (1,000 samples, 10.00%)");

		const diff = await t.open(t.svg("diff", DIFF));
		await hover(diff, "hot_loop");
		await waitText(diff, "details",
			       "hot_loop (900 samples, 90.00%; before 400 samples, 40.00%; +50.00 points)");
	}],

	["the diff's before shape shows vanished frames, with zoom, search and URL", async (t) => {
		const page = await t.open(t.svg("diff", DIFF));
		assert((await mustFrame(page, "old_func")).hidden, "old_func shows in the after shape");
		await assertWidth(page, "hot_loop", 0.9 * FULL);
		await assertWidth(page, "new_func", 0.1 * FULL);

		await page.locator("#shape").click();
		await waitText(page, "shape", "Show after shape");
		await assertWidth(page, "old_func", 0.6 * FULL);
		await assertWidth(page, "hot_loop", 0.4 * FULL);
		assert((await mustFrame(page, "new_func")).hidden, "new_func shows in the before shape");
		assert(params(page).get("shape") === "before", `no shape in ${page.url()}`);

		// Zoom and search in the before shape; the URL brings both back in it.
		t.expectPrompt("old");
		await page.keyboard.press("/");
		await waitText(page, "matched", "Matched: 60.0%");
		await click(page, "hot_loop");
		await assertWidth(page, "hot_loop", FULL);
		assert((await mustFrame(page, "old_func")).hidden, "old_func shows beside the zoom");
		const again = await t.open(page.url());
		await waitText(again, "shape", "Show after shape");
		await assertWidth(again, "hot_loop", FULL);
		assert((await mustFrame(again, "old_func")).hidden, "old_func shows after the reload");
		await waitText(again, "matched", "Matched: 60.0%");
		await again.locator("#unzoom").click();
		await assertWidth(again, "old_func", 0.6 * FULL);
		assert((await mustFrame(again, "old_func")).fill === MATCH_FILL, "old_func not highlighted");

		// Back to after: the zoomed frame stays zoomed; the search is re-measured.
		await page.locator("#shape").click();
		await waitText(page, "shape", "Show before shape");
		await assertWidth(page, "hot_loop", FULL);
		await waitText(page, "matched", "Matched: 0.0%");
		assert(!params(page).has("shape"), `shape left in ${page.url()}`);
		await page.locator("#unzoom").click();
		assert((await mustFrame(page, "old_func")).hidden, "old_func shows in the after shape");
		await assertWidth(page, "hot_loop", 0.9 * FULL);

		// A frame only the before shape has cannot stay zoomed in the after shape.
		await page.locator("#shape").click();
		await click(page, "old_func");
		await assertWidth(page, "old_func", FULL);
		await page.locator("#shape").click();
		await waitText(page, "shape", "Show before shape");
		await assertWidth(page, "hot_loop", 0.9 * FULL);
		assert(!params(page).has("x"), `a hidden frame's zoom left in ${page.url()}`);
	}],

	["no script in a frame name runs", async (t) => {
		// No ";" in them: folded text splits frames there.
		const names = [
			"<script>alert(1)</script>",
			"<img src=x onerror=\"window.pwned=2,alert(2)\">",
			"javascript:alert(3)",
			"\"><svg onload=alert(4)>",
			"]]></script><script>alert(5)</script>",
			"x</title><script>window.pwned=6</script>",
			"a & b < c > d ' \" \\ %s &amp &#60 &lt",
		];
		const folded = names.map((n, i) => `evil;${n} ${1000 + i}`).join("\n") + "\n";
		const page = await t.open(t.svg("evil", folded));
		const search = encodeURIComponent("<img src=x onerror=alert(7)>|script");
		const again = await t.open(`${page.url()}?s=${search}`);

		// Every name as a title, the details line and a zoomed label, on the first page;
		// the DOM of both, the second searched with a hostile term from its URL.
		for (const n of names) {
			const f = await mustFrame(page, n);
			assert(f.title.startsWith(`${n} (`), `title of ${n}: ${f.title}`);
			assert(f.label === "" || n.startsWith(f.label.replace(/\.\.$/, "")),
			       `label of ${n}: ${f.label}`);
			await hover(page, n);
			await waitText(page, "details", f.title);
			await click(page, n);
			await assertWidth(page, n, FULL);
			const zoomed = await mustFrame(page, n);
			assert(n.startsWith(zoomed.label.replace(/\.\.$/, "")) && zoomed.label.length > 10,
			       `zoomed label of ${n}: ${zoomed.label}`);
			await page.locator("#unzoom").click();
		}
		for (const p of [page, again]) {
			const dom = await p.evaluate(() => ({
				scripts: document.querySelectorAll("script").length,
				foreign: document.querySelectorAll("img, iframe, a, foreignObject").length,
				handlers: [...document.querySelectorAll("*")].flatMap((e) =>
					[...e.attributes].filter((a) => a.name.startsWith("on"))
						.map((a) => `${e.tagName}.${a.name}`)),
				titles: [...document.querySelectorAll("#frames title")].map((e) => e.textContent),
				pwned: window.pwned,
			}));
			for (const n of names)
				assert(dom.titles.some((title) => title.startsWith(`${n} (`)), `no title for ${n}`);
			assert(dom.scripts === 1, `${dom.scripts} script elements`);
			assert(dom.foreign === 0, `${dom.foreign} elements a name must not create`);
			assert(dom.handlers.join() === "svg.onload", `event handlers: ${dom.handlers}`);
			assert(dom.pwned === undefined, `a name ran script: pwned=${dom.pwned}`);
		}
		// script, javascript:, ]]></script> and </title><script>: 4,011 of 7,021.
		await waitText(again, "matched", "Matched: 57.1%");
	}],

	// The timeline's tooltips are tested in test_timeline_ui.mjs (see README.md here).
]);
