import { appendFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/tmp.js";
import { PasstLog } from "./passt-log.js";

// Lines as Debian 12's passt (2023-03) writes them with --log-file.
const START = "passt unknown version: /usr/bin/passt.avx2 (6776)\n0.2839: info:    DHCP:\n0.2839: info:        assign: 192.0.2.2\n";
const ACK = "34.8566: info:    DHCP: ack to request\n34.8566: info:        from 52:54:00:12:34:56\n";
/** The ack of a later boot of the same passt (a guest's reboot). */
const LATER_ACK = "97.1234: info:    DHCP: ack to request\n97.1234: info:        from 52:54:00:12:34:56\n";
const settled = (p: Promise<void>) => Promise.race([p.then(() => "acked"), new Promise<string>((r) => setTimeout(() => r("pending"), 300))]);

describe("PasstLog", () => {
  it("resolves at the first DHCP ack written after the call, not at one already there", async () => {
    const file = path.join(tempDir("bce-passtlog-"), "passt.log");
    writeFileSync(file, START + ACK);
    const log = new PasstLog(file, 20);
    const next = log.nextDhcpAck();
    appendFileSync(file, "97.1: info:    DHCP: offer to discover\n");
    expect(await settled(next)).toBe("pending");
    appendFileSync(file, LATER_ACK);
    expect(await settled(next)).toBe("acked");
    log.close();
  });

  it("counts an ack only once its line is whole, and waits for a file passt has not made yet", async () => {
    const file = path.join(tempDir("bce-passtlog-"), "passt.log");
    const log = new PasstLog(file, 20);
    const next = log.nextDhcpAck();
    writeFileSync(file, START + "34.8566: info:    DHCP: ack to req");
    expect(await settled(next)).toBe("pending");
    appendFileSync(file, "uest\n");
    expect(await settled(next)).toBe("acked");
    log.close();
  });

  it("tells acks apart by passt's time: after passt cuts old lines from the file, an ack read again is not a new one", async () => {
    const file = path.join(tempDir("bce-passtlog-"), "passt.log");
    writeFileSync(file, START + "10.0: info:    NDP: received RS, sending RA\n".repeat(20) + ACK);
    const log = new PasstLog(file, 20);
    const next = log.nextDhcpAck();
    writeFileSync(file, ACK); // cut: shorter than what was read
    expect(await settled(next)).toBe("pending");
    appendFileSync(file, "90.5: info:    DHCP: ack to request\n");
    expect(await settled(next)).toBe("acked");
    log.close();
  });

  it("an aborted wait never resolves", async () => {
    const file = path.join(tempDir("bce-passtlog-"), "passt.log");
    writeFileSync(file, START);
    const log = new PasstLog(file, 20);
    const stop = new AbortController();
    const next = log.nextDhcpAck(stop.signal);
    const other = log.nextDhcpAck();
    await new Promise((r) => setTimeout(r, 50)); // both waiting
    stop.abort();
    appendFileSync(file, ACK);
    expect(await settled(next)).toBe("pending");
    expect(await settled(other)).toBe("acked");
    log.close();
  });

  it("never resolves once passt has ended", async () => {
    const file = path.join(tempDir("bce-passtlog-"), "passt.log");
    writeFileSync(file, START);
    const log = new PasstLog(file, 20);
    const next = log.nextDhcpAck();
    log.close();
    appendFileSync(file, ACK);
    expect(await settled(next)).toBe("pending");
    expect(await settled(log.nextDhcpAck())).toBe("pending");
  });
});
