import { afterEach, describe, expect, it, vi } from "vitest";
import { defaultChoices, GiB, loadChoices, saveChoices } from "./boot-choices";
import type { RunOptionFacts } from "./run-options";

// Facts unlike the real defaults: a default the dialog wrote down itself would show.
const facts = {
  pull: { help: "h", default: "never", values: ["missing", "always", "never"] },
  cpus: { help: "h", default: 7, min: 1, max: 64 },
  memoryMiB: { help: "h", default: 3072 },
  kargs: { help: "h", default: ["quiet", "splash"] },
  removeOnStop: { help: "h", default: true },
  mode: { help: "h", default: "disk" },
  diskSizeBytes: { help: "h", default: 5 * GiB },
  autostart: { help: "h", default: true },
  allowHostLoopback: { help: "h", default: true },
  user: { help: "h", default: "alice" },
  injectUserKey: { help: "h", default: true },
  autologin: { help: "h", default: true },
  cloudInit: { help: "h", fields: { transport: { help: "h", default: "imds" }, dir: { help: "h" } } },
} as unknown as RunOptionFacts;

describe("the boot dialog's choices", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("start from the server's defaults, in the dialog's units", () => {
    expect(defaultChoices(facts)).toEqual({
      name: "",
      pull: "never",
      cpus: 7,
      memoryMiB: 3072,
      forwards: [],
      shares: [],
      kargs: "quiet splash",
      removeOnStop: true,
      mode: "disk",
      diskSizeGiB: 5,
      diskFile: "",
      host: "",
      autostart: true,
      allowHostLoopback: true,
      user: "alice",
      sshKey: "inject",
      password: "",
      autologin: true,
      cloudInitDir: "",
      cloudInitTransport: "imds",
    });
  });

  it("are remembered per image over the defaults, without the name, the password or the loopback opt-in", () => {
    const store = new Map<string, string>();
    vi.stubGlobal("localStorage", { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v) });
    const defaults = defaultChoices(facts);
    saveChoices("img", { ...defaults, cpus: 3, name: "web", password: "pw", allowHostLoopback: !defaults.allowHostLoopback });
    expect(loadChoices("img", defaults)).toEqual({ ...defaults, cpus: 3 });
    expect(loadChoices("other", defaults)).toEqual(defaults);
  });
});
