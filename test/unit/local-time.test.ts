import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";

const MODULE = join(import.meta.dir, "../../src/shared/local-time.ts");
// Around DST changes (New York 2026-03-08 and 2026-11-01, Lord Howe's half hour), a leap day, the epoch.
const TIMES = [0, 951_782_400_000, 1_772_953_200_000, 1_772_956_800_000, 1_793_512_800_000, 1_793_516_400_000];
const ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"].filter(
  (z) => z === "UTC" || existsSync(`/usr/share/zoneinfo/${z}`),
);

test("local time from the C library is Date's local time, in every zone TZ names", () => {
  const script = `
    const { localTime, fromLibc } = await import(${JSON.stringify(MODULE)});
    if (!fromLibc()) throw new Error("localTime falls back to Date here: nothing compared");
    const times = ${JSON.stringify(TIMES)}.flatMap((t) => [t, t + 1799_000, t - 1]);
    console.log(JSON.stringify(times.map((ms) => {
      const d = new Date(Math.floor(ms / 1000) * 1000);
      const js = { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hour: d.getHours(),
        minute: d.getMinutes(), second: d.getSeconds() };
      return [localTime(ms), js];
    })));`;
  for (const zone of ZONES) {
    const r = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, TZ: zone } });
    expect(r.stderr.toString()).toBe("");
    const pairs = JSON.parse(r.stdout.toString()) as [unknown, unknown][];
    expect(pairs).toHaveLength(TIMES.length * 3);
    for (const [fromLibc, fromDate] of pairs) expect(fromLibc).toEqual(fromDate);
  }
  expect(ZONES.length).toBeGreaterThan(1);
});
