/**
 * What a console costs the browser (prints figures; not a test): xterm.js in Debian's
 * Chromium (headless, no GPU, as in the browser tests) shows a boot's worth of serial output
 * — lines at a steady rate for SECONDS, then idle with the cursor blinking — once with the
 * WebGL renderer (software GL: SwiftShader) and once with xterm's DOM renderer, alternating
 * ROUNDS times. Prints the CPU time of all of Chromium's processes for each, and what the
 * WebGL context says its renderer is.
 *   npx tsx e2e/bench/terminal-render.ts [ROUNDS] [SECONDS]
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { chromium } from "@playwright/test";

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 30);
const root = path.resolve("node_modules/@xterm");
const TICK = 100; // Hz of /proc's clock ticks

/** CPU seconds of a process and all its descendants, from /proc. */
function treeCpu(pid: number): number {
  const procs = new Map<number, { ppid: number; cpu: number }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      procs.set(Number(d), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / TICK });
    } catch {
      // gone meanwhile
    }
  }
  let sum = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    sum += procs.get(p)?.cpu ?? 0;
    for (const [c, v] of procs) if (v.ppid === p) stack.push(c);
  }
  return sum;
}

async function once(webgl: boolean): Promise<{ cpu: number; renderer: string }> {
  const server = await chromium.launchServer({
    executablePath: process.env.BOOTC_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const pid = server.process().pid;
  const browser = await chromium.connect(server.wsEndpoint());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.setContent(
    `<html><head><style>${readFileSync(path.join(root, "xterm/css/xterm.css"), "utf8")}</style></head><body><div id="t" style="width:1200px;height:700px"></div></body></html>`,
  );
  await page.addScriptTag({ path: path.join(root, "xterm/lib/xterm.js") });
  await page.addScriptTag({ path: path.join(root, "addon-webgl/lib/addon-webgl.js") });
  const renderer = await page.evaluate((useWebgl) => {
    const w = window as unknown as {
      Terminal: new (o: object) => { open(e: Element): void; loadAddon(a: object): void; write(s: string): void };
      WebglAddon: { WebglAddon: new () => object };
      term: unknown;
    };
    const term = new w.Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 14 });
    term.open(document.getElementById("t")!);
    if (useWebgl) term.loadAddon(new w.WebglAddon.WebglAddon());
    w.term = term;
    const gl = document.createElement("canvas").getContext("webgl2");
    const info = gl?.getExtension("WEBGL_debug_renderer_info");
    return info ? String(gl!.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "no WebGL";
  }, webgl);
  if (!pid) throw new Error("no browser pid");
  const before = treeCpu(pid);
  // A boot's serial output: about 40 lines a second for the first two thirds, then idle.
  await page.evaluate(async (ms) => {
    const term = (window as unknown as { term: { write(s: string): void } }).term;
    const end = Date.now() + (ms * 2) / 3;
    let n = 0;
    while (Date.now() < end) {
      for (let i = 0; i < 4; i++) term.write(`[   ${(n++ / 40).toFixed(6)}] systemd[1]: Started unit-${n}.service - Something useful on line ${n}.\r\n`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, ms / 3));
  }, seconds * 1000);
  const cpu = treeCpu(pid) - before;
  await browser.close();
  await server.close();
  return { cpu, renderer };
}

const results: Record<string, number[]> = { webgl: [], dom: [] };
let rendererName = "";
for (let r = 1; r <= rounds; r++) {
  for (const webgl of [true, false]) {
    const { cpu, renderer } = await once(webgl);
    rendererName = renderer;
    results[webgl ? "webgl" : "dom"]!.push(cpu);
    console.log(`round ${r}  ${webgl ? "WebGL" : "DOM  "}  Chromium CPU ${cpu.toFixed(1)} s over ${seconds} s`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`WebGL renderer: ${rendererName}`);
console.log(`median Chromium CPU: WebGL ${median(results.webgl!).toFixed(1)} s, DOM ${median(results.dom!).toFixed(1)} s`);
