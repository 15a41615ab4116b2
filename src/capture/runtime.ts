/** What machine a job ran on. Cheap facts only; slow probes (nvidia-smi) run while the job runs. */
import { existsSync, readFileSync } from "node:fs";
import { arch, cpus, hostname, platform, release, totalmem, version } from "node:os";
import type { CaptureSource } from "./source.ts";

export interface RuntimeInfo {
  hostname: string;
  os: { system: string; release: string; version: string; machine: string };
  cpu: { model: string | null; count: number };
  memory: { totalMb: number };
  container: { type: string } | null;
  gpu: { name: string; memoryMb: number | null; driver: string | null }[];
  cuda: { driverVersion: string | null } | null;
}

function containerType(): { type: string } | null {
  if (existsSync("/.dockerenv")) return { type: "docker" };
  if (process.env.KUBERNETES_SERVICE_HOST) return { type: "kubernetes" };
  if (process.env.container === "podman" || existsSync("/run/.containerenv")) return { type: "podman" };
  try {
    const cgroup = readFileSync("/proc/1/cgroup", "utf8");
    if (/docker|containerd/.test(cgroup)) return { type: "docker" };
    if (/kubepods/.test(cgroup)) return { type: "kubernetes" };
  } catch {
    // not Linux, or no /proc
  }
  return null;
}

export function baseRuntime(): Omit<RuntimeInfo, "gpu" | "cuda"> {
  const cpuList = cpus();
  return {
    hostname: hostname(),
    os: { system: platform(), release: release(), version: version(), machine: arch() },
    cpu: { model: cpuList[0]?.model ?? null, count: cpuList.length },
    memory: { totalMb: Math.round(totalmem() / 1024 / 1024) },
    container: containerType(),
  };
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return null;
}

export interface GpuProbe {
  result: Promise<Pick<RuntimeInfo, "gpu" | "cuda">>;
  /** Stops the probe when its answer is no longer wanted (the job never started). */
  cancel(): void;
}

/** One nvidia-smi call (5 s timeout) when it exists; started early and awaited after the trace. */
export function probeGpus(): GpuProbe {
  const none = { gpu: [], cuda: null };
  const smi = onPath("nvidia-smi");
  if (!smi) return { result: Promise.resolve(none), cancel: () => {} };
  const proc = Bun.spawn([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"], {
    stdout: "pipe",
    stderr: "ignore",
    timeout: 5000,
  });
  const result = (async () => {
    try {
      const out = await new Response(proc.stdout).text();
      if ((await proc.exited) !== 0) return none;
      const gpu = out
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [name, mem, driver] = line.split(",").map((s) => s.trim());
          return { name: name ?? "", memoryMb: mem ? Number(mem) : null, driver: driver ?? null };
        });
      return { gpu, cuda: { driverVersion: gpu[0]?.driver ?? null } };
    } catch {
      return none;
    }
  })();
  return {
    result,
    cancel: () => {
      proc.kill();
      proc.unref(); // a wrapper script's own children may hold the pipe: do not wait for them
      void proc.stdout.cancel().catch(() => {});
    },
  };
}

/** The machine (`metadata.runtime`). */
export const runtimeSource: CaptureSource = {
  name: "runtime",
  async capture() {
    return { metadata: { runtime: baseRuntime() } };
  },
};

/** Its GPUs (`metadata.runtime.gpu`, `.cuda`): nvidia-smi runs while the job does. */
export const gpuSource: CaptureSource = {
  name: "gpu",
  start() {
    const probe = probeGpus();
    return { fact: probe.result.then((gpu) => ({ metadata: { runtime: gpu } })), cancel: probe.cancel };
  },
  async capture() {
    return { metadata: { runtime: await probeGpus().result } };
  },
};
