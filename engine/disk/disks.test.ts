import { describe, expect, it } from "vitest";
import { remoteRmiBlocker } from "./disks.js";

const id = "a".repeat(64);
const where = "the podman at ssh://u@h/s";

describe("remoteRmiBlocker (--rmi of a VM whose image is in another podman)", () => {
  it("removes the image while the VM's name there still refers to its id", () => {
    expect(remoteRmiBlocker("localhost/x:1", id, id, where)).toBeUndefined();
    expect(remoteRmiBlocker("localhost/x:1", `sha256:${id}`, id, where)).toBeUndefined();
  });

  it("keeps it, saying why, when the name there is another image now or is gone", () => {
    expect(remoteRmiBlocker("localhost/x:1", id, "b".repeat(64), where)).toBe(
      `kept the image aaaaaaaaaaaa in ${where}: localhost/x:1 is another image there now (bbbbbbbbbbbb), not this VM's`,
    );
    expect(remoteRmiBlocker("localhost/x:1", id, undefined, where)).toBe(
      `kept the image aaaaaaaaaaaa in ${where}: localhost/x:1 is not there any more (podman rmi aaaaaaaaaaaa there removes it)`,
    );
  });
});
