/**
 * Entry point of the per-VM monitor process: `node dist/engine/monitor/main.js NAME`.
 * Started detached by the engine; see supervisor.ts.
 */
import { Supervisor } from "./supervisor.js";

const name = process.argv[2];
if (!name) {
  console.error("usage: monitor NAME");
  process.exit(2);
}
const supervisor = await Supervisor.load(name);
await supervisor.run();
