/**
 * Local calendar time from the C library's localtime_r. JavaScript's first local-time Date call makes ICU load
 * its time-zone data, ~7 ms of every `roar status`, `log` or `show` that prints a time; localtime_r reads the
 * same zone (TZ, else /etc/localtime) in ~0.3 ms. Where the C library cannot be opened (not Linux, a musl
 * system without libc.so.6), Date does it.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

export interface LocalTime {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

type Libc = { localtime_r: (time: number, out: number) => number } | null;
let libc: Libc | undefined;

function openLibc(): Libc {
  if (process.platform !== "linux") return null;
  try {
    const lib = dlopen("libc.so.6", { localtime_r: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.ptr } });
    return lib.symbols as unknown as NonNullable<Libc>;
  } catch {
    return null;
  }
}

/** Whether localTime reads the C library here (else Date). */
export function fromLibc(): boolean {
  libc ??= openLibc();
  return libc !== null;
}

export function localTime(ms: number): LocalTime {
  libc ??= openLibc();
  const seconds = Math.floor(ms / 1000);
  if (libc) {
    const time = new BigInt64Array([BigInt(seconds)]);
    // struct tm: nine ints first (sec, min, hour, mday, mon, year, …), then the zone's offset and name.
    const tm = new Int32Array(16);
    if (libc.localtime_r(ptr(time), ptr(tm)) !== 0) {
      const [second, minute, hour, day, month, year] = tm as unknown as number[];
      return {
        year: (year as number) + 1900,
        month: (month as number) + 1,
        day: day as number,
        hour: hour as number,
        minute: minute as number,
        second: second as number,
      };
    }
  }
  const d = new Date(seconds * 1000);
  return {
    year: d.getFullYear(),
    month: d.getMonth() + 1,
    day: d.getDate(),
    hour: d.getHours(),
    minute: d.getMinutes(),
    second: d.getSeconds(),
  };
}
