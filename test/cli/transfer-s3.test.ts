/**
 * `roar put` / `roar get` against a real S3-protocol server on loopback (s3rver, made to decode aws-chunked uploads
 * as S3 does): byte-identical round trips (b3sum of the local files and of the bytes the server stored) for a file,
 * a directory and `@N`; `gs://` through the endpoint override; lineage across get → run → put.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Value from "typebox/value";
import type { DagJson } from "../../src/schema/dag.ts";
import type { LineageJson } from "../../src/schema/lineage.ts";
import { GetJson, PutJson } from "../../src/schema/transfer.ts";
import { commitAll, git, roar, roarJson, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.ts";
import { runAvailable } from "./dag-e2e.ts";

let s3: S3TestServer;
const BUCKET = "roar-test";

beforeAll(async () => {
  s3 = await startS3Server([BUCKET]);
});
afterAll(() => s3.close());

async function project(files: Record<string, string> = {}): Promise<string> {
  const dir = tempRepo(files);
  expect((await roar(["init", "-y"], { cwd: dir })).code).toBe(0);
  commitAll(dir, "roar init");
  return dir;
}

function randomFile(path: string, size: number): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, crypto.getRandomValues(new Uint8Array(size)));
}

/** The object's stored bytes on the server and its metadata (s3rver's files). */
function stored(key: string): { blake3: string; metadata: Record<string, string> } {
  const file = s3.objectFile(BUCKET, key);
  const metadata = JSON.parse(readFileSync(file.replace(/_object$/, "_metadata.json"), "utf8"));
  return { blake3: b3sum(file), metadata };
}

describe("roar put / roar get over S3", () => {
  test("a file, a directory and @N go up and come back byte-identical", async () => {
    const dir = await project({
      "copy.py":
        "import os, sys\nos.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)\nopen(sys.argv[2], 'wb').write(open(sys.argv[1], 'rb').read()[::-1])\n",
    });
    randomFile(join(dir, "model.pt"), 3 * 1024 * 1024);
    // Above the 8 MiB part size: a multipart upload.
    randomFile(join(dir, "ckpt/epoch-1/weights.bin"), 9 * 1024 * 1024 + 17);
    writeFileSync(join(dir, "ckpt/notes.txt"), "checkpoint notes\n");
    writeFileSync(join(dir, "ckpt/epoch-1/empty"), "");
    commitAll(dir, "data");
    const env = s3.env();

    const file = await roarJson<PutJson>(["put", "model.pt", `s3://${BUCKET}/models/`, "-m", "model", "--json"], {
      cwd: dir,
      env,
    });
    expect(Value.Check(PutJson, file)).toBe(true);
    expect(file.files.map((f) => [f.path, f.url, f.state])).toEqual([
      ["model.pt", `s3://${BUCKET}/models/model.pt`, "uploaded"],
    ]);
    const local = b3sum(join(dir, "model.pt"));
    expect(file.files[0]?.blake3).toBe(local);
    expect(stored("models/model.pt").blake3).toBe(local);
    expect(stored("models/model.pt").metadata["x-amz-meta-blake3"]).toBe(local);

    const tree = await roarJson<PutJson>(["put", "ckpt", `s3://${BUCKET}/run-1/`, "-m", "checkpoints", "--json"], {
      cwd: dir,
      env,
    });
    expect(tree.files.map((f) => f.url).sort()).toEqual(
      ["epoch-1/empty", "epoch-1/weights.bin", "notes.txt"].map((k) => `s3://${BUCKET}/run-1/${k}`),
    );
    for (const f of tree.files)
      expect(stored(f.url.slice(`s3://${BUCKET}/`.length)).blake3).toBe(b3sum(join(dir, f.path)));
    expect(tree.collections).toHaveLength(1);
    const composite = tree.collections[0]?.blake3 ?? "";

    const back = await roarJson<GetJson>(["get", `s3://${BUCKET}/run-1/`, "restored/", "--json"], { cwd: dir, env });
    expect(Value.Check(GetJson, back)).toBe(true);
    for (const rel of ["epoch-1/empty", "epoch-1/weights.bin", "notes.txt"])
      expect(b3sum(join(dir, "restored", rel))).toBe(b3sum(join(dir, "ckpt", rel)));
    // The same directory has the same composite digest, uploaded or downloaded.
    expect(back.collection?.blake3).toBe(composite);
    const single = await roarJson<GetJson>(["get", `s3://${BUCKET}/models/model.pt`, "restored/", "--json"], {
      cwd: dir,
      env,
    });
    expect(single.files[0]?.state).toBe("downloaded");
    expect(b3sum(join(dir, "restored/model.pt"))).toBe(local);

    // @N: the outputs of a step, keyed by their path in the project.
    expect((await roar(["run", "-q", "python3", "copy.py", "model.pt", "out/reversed.pt"], { cwd: dir })).code).toBe(0);
    const step = await roarJson<PutJson>(["put", "@5", `s3://${BUCKET}/step/`, "-m", "step 5", "--json"], {
      cwd: dir,
      env,
    });
    expect(step.files.map((f) => f.url)).toEqual([`s3://${BUCKET}/step/out/reversed.pt`]);
    const again = await roarJson<GetJson>(["get", `s3://${BUCKET}/step/`, "fetched/", "--json"], { cwd: dir, env });
    expect(again.files.map((f) => f.path)).toEqual(["fetched/out/reversed.pt"]);
    expect(b3sum(join(dir, "fetched/out/reversed.pt"))).toBe(b3sum(join(dir, "out/reversed.pt")));
    // Nothing was left behind by the temp files.
    expect(readdirSync(join(dir, "fetched/out"))).toEqual(["reversed.pt"]);

    // The composite digest resolves to the directory's upload; the prefix URL too.
    const byPrefix = await roarJson<{ blake3: string; collection: { members: { path: string }[] } }>(
      ["show", `s3://${BUCKET}/run-1/`, "--json"],
      { cwd: dir },
    );
    expect(byPrefix.blake3).toBe(composite);
    expect(byPrefix.collection.members.map((m) => m.path)).toEqual([
      "epoch-1/empty",
      "epoch-1/weights.bin",
      "notes.txt",
    ]);
    // Undoing a prefix get removes its record of the directory.
    const collections = () => {
      const db = new Database(join(dir, ".roar/roar.db"), { readonly: true });
      const n = (db.query("SELECT count(*) AS n FROM collections").get() as { n: number }).n;
      db.close();
      return n;
    };
    expect(collections()).toBe(3);
    expect((await roar(["pop", "-y"], { cwd: dir })).code).toBe(0);
    expect(collections()).toBe(2);
  }, 180_000);

  test.skipIf(!runAvailable)(
    "lineage across get → run → put shows in dag and lineage",
    async () => {
      const dir = await project({
        "train.py":
          "import sys\ndata = open(sys.argv[1]).read()\nopen(sys.argv[2], 'w').write('model of ' + str(len(data)))\n",
      });
      const env = s3.env();
      const seed = join(dir, "..", `seed-${Date.now()}.csv`);
      writeFileSync(seed, "a,b\n1,2\n");
      // Some other project published the data set.
      const other = await project();
      writeFileSync(join(other, "data.csv"), readFileSync(seed));
      commitAll(other, "data");
      expect(
        (await roar(["put", "data.csv", `s3://${BUCKET}/datasets/data.csv`, "-m", "data"], { cwd: other, env })).code,
      ).toBe(0);

      const got = await roarJson<GetJson>(["get", `s3://${BUCKET}/datasets/data.csv`, "data.csv", "--json"], {
        cwd: dir,
        env,
      });
      expect(got.job?.label).toBe("@1");
      expect((await roar(["run", "-q", "python3", "train.py", "data.csv", "model.txt"], { cwd: dir })).code).toBe(0);
      const put = await roarJson<PutJson>(["put", "model.txt", `s3://${BUCKET}/models/`, "-m", "trained", "--json"], {
        cwd: dir,
        env,
      });
      expect(put.job?.label).toBe("@3");
      // No source: every output of the session's run steps (the downloaded data set is not one).
      const all = await roarJson<PutJson>(
        ["put", `s3://${BUCKET}/session/`, "-m", "everything", "--json", "--no-tag"],
        {
          cwd: dir,
          env,
        },
      );
      expect(all.files.map((f) => [f.path, f.url])).toEqual([["model.txt", `s3://${BUCKET}/session/model.txt`]]);
      expect(all.tag).toBeNull();
      expect((await roar(["pop", "-y"], { cwd: dir })).code).toBe(0);
      expect(git(dir, "tag", "-l").trim()).toBe(`roar/${git(dir, "rev-parse", "HEAD").trim()}`);

      const dag = await roarJson<DagJson>(["dag", "--json"], { cwd: dir });
      const node = (step: number) => dag.nodes.find((n) => n.step === step);
      expect(node(1)?.dependencies).toEqual([]);
      expect(node(2)?.dependencies).toEqual([1]);
      expect(node(3)?.dependencies).toEqual([2]);
      const text = await roar(["dag"], { cwd: dir });
      expect(text.stdout).toContain("roar get");
      expect(text.stdout).toContain(`s3://${BUCKET}/models/model.txt`);

      const rerun = await roar(["run", "@1"], { cwd: dir });
      expect(rerun.code).not.toBe(0);
      expect(rerun.stderr).toContain("@1 is a get step");

      const lineage = await roarJson<LineageJson>(["lineage", `s3://${BUCKET}/models/model.txt`, "--json"], {
        cwd: dir,
      });
      expect(lineage.jobs.map((j) => j.step)).toEqual([3, 2, 1]);
      const local = await roarJson<LineageJson>(["lineage", "model.txt", "--json"], { cwd: dir });
      expect(local.jobs.map((j) => j.step)).toEqual([2, 1]);
      // reproduce replays run steps only: the downloaded data set is an external input.
      const model = b3sum(join(dir, "model.txt"));
      const { plan } = await roarJson<{ plan: { steps: { step: string }[]; externalInputs: { path: string }[] } }>(
        ["reproduce", model.slice(0, 16), "--json"],
        { cwd: dir },
      );
      expect(plan.steps.map((s) => s.step)).toEqual(["@2"]);
      expect(plan.externalInputs.map((e) => e.path)).toEqual(["data.csv"]);
      const diff = await roar(["diff", "model.txt", `s3://${BUCKET}/models/model.txt`], { cwd: dir });
      expect(diff.code).toBe(0);

      // The upload is not a file here: status counts local outputs only, pop never deletes it.
      const status = await roarJson<{ outputs: { tracked: number; missing: number } }>(["status", "--json"], {
        cwd: dir,
      });
      expect(status.outputs.missing).toBe(0);
      const pop = await roarJson<{ kept: { path: string; reason: string }[] }>(["pop", "-y", "--json"], { cwd: dir });
      expect(pop.kept.map((k) => k.path)).toEqual([`s3://${BUCKET}/models/model.txt`]);
      expect(existsSync(s3.objectFile(BUCKET, "models/model.txt"))).toBe(true);
    },
    180_000,
  );

  test("gs:// goes through the S3-compatible endpoint override with an HMAC key", async () => {
    const dir = await project();
    randomFile(join(dir, "shard.bin"), 200_000);
    commitAll(dir, "data");
    const env = {
      AWS_EC2_METADATA_DISABLED: "true",
      GCS_ENDPOINT_URL: s3.endpoint,
      GCS_ACCESS_KEY_ID: "S3RVER",
      GCS_SECRET_ACCESS_KEY: "S3RVER",
    };
    const up = await roarJson<PutJson>(["put", "shard.bin", `gs://${BUCKET}/gcs/`, "-m", "gcs", "--json"], {
      cwd: dir,
      env,
    });
    expect(up.files[0]?.url).toBe(`gs://${BUCKET}/gcs/shard.bin`);
    expect(stored("gcs/shard.bin").blake3).toBe(b3sum(join(dir, "shard.bin")));
    const down = await roar(["get", `gs://${BUCKET}/gcs/shard.bin`, "copy.bin"], { cwd: dir, env });
    expect(down.code).toBe(0);
    expect(b3sum(join(dir, "copy.bin"))).toBe(b3sum(join(dir, "shard.bin")));
    const show = await roarJson<{ locations: string[] }>(["show", `gs://${BUCKET}/gcs/shard.bin`, "--json"], {
      cwd: dir,
    });
    expect(show.locations.sort()).toEqual(["copy.bin", `gs://${BUCKET}/gcs/shard.bin`, "shard.bin"]);
    const none = await roar(["get", `gs://${BUCKET}/gcs/shard.bin`, "x.bin"], {
      cwd: dir,
      env: { GCS_ENDPOINT_URL: s3.endpoint },
    });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no GCS credentials");
  }, 120_000);

  test("destinations: exists with other content, --force, unchanged objects, prefixes and mistakes", async () => {
    const dir = await project();
    const env = s3.env();
    writeFileSync(join(dir, "a.txt"), "version 1\n");
    commitAll(dir, "a");
    expect((await roar(["put", "a.txt", `s3://${BUCKET}/d/a.txt`, "-m", "v1"], { cwd: dir, env })).code).toBe(0);
    const same = await roarJson<PutJson>(["put", "a.txt", `s3://${BUCKET}/d/a.txt`, "-m", "v1 again", "--json"], {
      cwd: dir,
      env,
    });
    expect(same.files[0]?.state).toBe("unchanged");

    writeFileSync(join(dir, "b.txt"), "local content\n");
    commitAll(dir, "b");
    const clash = await roar(["get", `s3://${BUCKET}/d/a.txt`, "b.txt"], { cwd: dir, env });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain("--force");
    expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe("local content\n");
    expect(readdirSync(dir).filter((n) => n.includes(".roar-"))).toEqual([]);
    const forced = await roarJson<GetJson>(["get", `s3://${BUCKET}/d/a.txt`, "b.txt", "--force", "--json"], {
      cwd: dir,
      env,
    });
    expect(forced.files[0]?.state).toBe("replaced");
    expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe("version 1\n");

    const noSlash = await roar(["get", `s3://${BUCKET}/d`], { cwd: dir, env });
    expect(noSlash.code).toBe(1);
    expect(noSlash.stderr).toContain("add a trailing /");
    const empty = await roar(["get", `s3://${BUCKET}/nothing-here/`], { cwd: dir, env });
    expect(empty.stderr).toContain("No files found under prefix");
    const dry = await roar(["get", `s3://${BUCKET}/d/`, "--dry-run"], { cwd: dir, env });
    expect(dry.stdout).toContain("Dry run - would download:");
    expect(dry.stdout).toContain("Total: 1 file");
    const putDry = await roar(["put", "a.txt", `s3://${BUCKET}/x/`, "-m", "m", "--dry-run"], { cwd: dir, env });
    expect(putDry.stdout).toContain(`Dry run: would upload 1 file to s3://${BUCKET}/x/`);
    expect(existsSync(s3.objectFile(BUCKET, "x/a.txt"))).toBe(false);

    expect((await roar(["put", "a.txt", `s3://${BUCKET}/x/`], { cwd: dir, env })).code).toBe(2);
    expect((await roar(["put", "a.txt", "https://example.invalid/x", "-m", "m"], { cwd: dir, env })).code).toBe(2);
    writeFileSync(join(dir, "a.txt"), "uncommitted\n");
    const dirty = await roar(["put", "a.txt", `s3://${BUCKET}/x/`, "-m", "m"], { cwd: dir, env });
    expect(dirty.code).toBe(1);
    expect(dirty.stderr).toContain("uncommitted changes");
    const denied = await roar(["get", `s3://${BUCKET}/d/a.txt`, "z.txt"], {
      cwd: dir,
      env: { ...env, AWS_SECRET_ACCESS_KEY: "wrong-secret-value-1234" },
    });
    expect(denied.code).toBe(1);
    expect(denied.stderr).not.toContain("wrong-secret-value-1234");
    expect(existsSync(join(dir, "z.txt"))).toBe(false);
  }, 120_000);
});
