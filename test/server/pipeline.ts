/**
 * A small ML pipeline registered the way the original client's `roar register` does it (reference-behaviour
 * §F.3): the session, every job without I/O (batch), the artifacts (batch, blake3 digest + size), then each
 * job's inputs and outputs.
 */
import { api, digest, type SshKey } from "../helpers/glaas.ts";

export const SESSION = digest("session:pipeline");
export const REPO = "https://github.com/example/pipeline.git";
export const COMMIT = "0123456789abcdef0123456789abcdef01234567";

export const A = {
  data: digest("data.csv"),
  features: digest("features.parquet"),
  model: digest("model.pt"),
  metrics: digest("metrics.json"),
  report: digest("report.html"),
};

export const SIZES: Record<string, number> = {
  [A.data]: 1_000,
  [A.features]: 5_000,
  [A.model]: 200_000,
  [A.metrics]: 120,
  [A.report]: 9_000,
};

const meta = (pip: Record<string, string>, gpu: string[] = []) =>
  JSON.stringify({ packages: { pip, dpkg: { libc6: "2.36" } }, runtime: { gpu: gpu.map((name) => ({ name })) } });

export const JOBS = [
  {
    job_uid: "b0000001",
    command: "pip install -e .",
    timestamp: 1_700_000_000,
    step_number: 1,
    job_type: "build",
    inputs: [],
    outputs: [],
    metadata: meta({ pip: "24.0" }),
  },
  {
    job_uid: "a0000001",
    command: "python preprocess.py --input data.csv --output features.parquet",
    timestamp: 1_700_000_100,
    step_number: 1,
    job_type: null,
    inputs: [["data.csv", A.data]],
    outputs: [["features.parquet", A.features]],
    metadata: meta({ pandas: "2.2.0" }),
  },
  {
    job_uid: "a0000002",
    command: "python train.py --data features.parquet --output model.pt --epochs 10",
    timestamp: 1_700_000_200,
    step_number: 2,
    job_type: null,
    inputs: [["features.parquet", A.features]],
    outputs: [
      ["models/model.pt", A.model],
      ["metrics.json", A.metrics],
    ],
    metadata: meta({ torch: "2.3.1", numpy: "1.26.4" }, ["NVIDIA A100-SXM4-80GB"]),
  },
  {
    job_uid: "a0000003",
    command: "python evaluate.py models/model.pt data.csv",
    timestamp: 1_700_000_300,
    step_number: 3,
    job_type: null,
    inputs: [
      ["models/model.pt", A.model],
      ["data.csv", A.data],
    ],
    outputs: [["report.html", A.report]],
    metadata: meta({ torch: "2.3.1" }),
  },
] as const;

/** Registers the whole pipeline; throws on the first unexpected status. Returns the responses' data. */
export async function registerPipeline(base: string, key?: SshKey, session = SESSION) {
  const expectOk = <T>(r: { status: number; body: { success: boolean; data: T } }, what: string): T => {
    if (r.status >= 300 || !r.body.success) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.data;
  };
  const s = expectOk(
    await api<{ hash: string; url: string; created: boolean }>(base, "POST", "/api/v1/sessions", {
      key,
      body: { hash: session, git_repo: REPO, git_commit: COMMIT, git_branch: "main" },
    }),
    "session",
  );
  const jobs = expectOk(
    await api<{ job_ids: number[]; errors: string[] }>(base, "POST", `/api/v1/sessions/${session}/jobs/batch`, {
      key,
      body: {
        jobs: JOBS.map((j) => ({
          command: j.command,
          timestamp: j.timestamp,
          job_uid: j.job_uid,
          git_commit: COMMIT,
          git_branch: "main",
          duration_seconds: 1.5,
          exit_code: 0,
          job_type: j.job_type,
          step_number: j.step_number,
          metadata: j.metadata,
        })),
      },
    }),
    "jobs",
  );
  const artifacts = expectOk(
    await api<{ created: number; existing: number }>(base, "POST", "/api/v1/artifacts/batch", {
      key,
      body: {
        artifacts: Object.values(A).map((h) => ({
          hashes: [{ algorithm: "blake3", digest: h }],
          size: SIZES[h],
          source_type: null,
          session_hash: session,
        })),
      },
    }),
    "artifacts",
  );
  const links: unknown[] = [];
  for (const j of JOBS) {
    for (const [role, list] of [
      ["inputs", j.inputs],
      ["outputs", j.outputs],
    ] as const) {
      if (list.length === 0) continue;
      links.push(
        expectOk(
          await api(base, "POST", `/api/v1/sessions/${session}/jobs/${j.job_uid}/${role}`, {
            key,
            body: { artifacts: list.map(([path, hash]) => ({ hash, path })) },
          }),
          `${j.job_uid} ${role}`,
        ),
      );
    }
  }
  return { session: s, jobs, artifacts, links };
}
