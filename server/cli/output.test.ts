import { describe, expect, it } from "vitest";
import { parseCommand } from "./output.js";

const HELP = "Usage: bootc run [options] IMAGE";
const options = { name: { type: "string" }, memory: { type: "string" }, publish: { type: "string", short: "p" }, rm: { type: "boolean" } } as const;
const parse = (args: string[]) => parseCommand({ args, allowPositionals: true, options }, HELP);
const failure = (args: string[]) => {
  try {
    parse(args);
  } catch (e) {
    return { message: (e as Error).message, hint: (e as { hint?: string }).hint };
  }
  throw new Error("parsed without an error");
};

describe("parseCommand's errors", () => {
  it("names an unknown option and suggests the closest real one, without Node's parser hints", () => {
    expect(failure(["--memroy", "2G", "img"])).toEqual({
      message: "unknown option --memroy",
      hint: "did you mean --memory? usage: bootc run [options] IMAGE (see --help)",
    });
    expect(failure(["--pub", "8080:80"]).hint).toMatch(/^did you mean --publish\?/);
    expect(failure(["--frobnicate"])).toEqual({ message: "unknown option --frobnicate", hint: "usage: bootc run [options] IMAGE (see --help)" });
    expect(failure(["-z"]).message).toBe("unknown option -z");
  });

  it("says when an option lacks its value or has one it does not take", () => {
    expect(failure(["--name"]).message).toBe("option --name needs a value");
    expect(failure(["--rm=yes"]).message).toBe("option --rm takes no value");
  });
});
