/**
 * A client written the way the original Python client works (reference-behaviour §F.1–F.3, A.12): urllib,
 * `json.dumps` bodies, `ssh-keygen -Y sign -n glaas` over `ts\nMETHOD\npath[\nsha256(body)]`, the
 * `{"success": true, "data": …}` envelope unwrapped and errors read from `detail`. It runs `roar auth test`'s
 * probe, a registration and the remote-reproduce lookup against the real server.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { roar, tempDir } from "../helpers/cli.ts";
import { makeKey, type Registry, type SshKey, startRegistry } from "../helpers/glaas.ts";

const T = 120_000;

const CLIENT = String.raw`
import base64, hashlib, json, os, subprocess, sys, tempfile, time, urllib.request, urllib.error

BASE = os.environ["GLAAS_URL"]
KEY = os.environ["ROAR_SSH_KEY"]

def fingerprint():
    blob = base64.b64decode(open(KEY + ".pub").read().split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")

def sign(payload):
    with tempfile.NamedTemporaryFile(delete=False, suffix=".data") as f:
        f.write(payload)
    subprocess.run(["ssh-keygen", "-Y", "sign", "-f", KEY, "-n", "glaas", f.name], check=True, capture_output=True)
    lines = open(f.name + ".sig").read().strip().split("\n")
    return base64.b64decode("".join(l for l in lines if not l.startswith("-----")))

def request(method, path, body=None, signed=True):
    data = json.dumps(body).encode() if body else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if signed:
        ts = int(time.time())
        payload = f"{ts}\n{method}\n{path}"
        if data:
            payload += "\n" + hashlib.sha256(data).hexdigest()
        sig = base64.b64encode(sign(payload.encode())).decode()
        req.add_header("Authorization", f'Signature keyid="{fingerprint()}" ts="{ts}" sig="{sig}"')
    if data:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            result = json.loads(resp.read().decode() or "{}")
            if isinstance(result, dict) and result.get("success") and "data" in result:
                return result["data"], None
            return result, None
    except urllib.error.HTTPError as e:
        err = json.loads(e.read().decode())
        return None, f"HTTP {e.code}: {err.get('detail') or err.get('message') or e}"

out = {}
# roar auth test: health, then a signed GET of a digest that does not exist (404 or 200 = authenticated).
with urllib.request.urlopen(BASE + "/api/v1/health", timeout=10) as r:
    out["health"] = r.status
_, err = request("GET", "/api/v1/artifacts/00000000")
out["auth_probe"] = err
if os.environ.get("MODE") == "probe":
    print(json.dumps(out))
    sys.exit(0)
session = hashlib.sha256(b"/repo/.roar:1").hexdigest()
data, err = request("POST", "/api/v1/sessions", {"hash": session, "git_repo": "git@github.com:me/p.git", "git_commit": "abc123", "git_branch": "main"})
out["session"] = data
data, err = request("POST", f"/api/v1/sessions/{session}/jobs/batch", {"jobs": [
    {"command": "python prep.py", "timestamp": 1700000000.5, "job_uid": "1a2b3c4d", "git_commit": "abc123", "git_branch": "main", "duration_seconds": 0.25, "exit_code": 0, "job_type": None, "step_number": 1},
    {"command": "python train.py", "timestamp": 1700000100.5, "job_uid": "5e6f7a8b", "git_commit": "abc123", "git_branch": "main", "duration_seconds": 12.0, "exit_code": 0, "job_type": None, "step_number": 2, "metadata": json.dumps({"packages": {"pip": {"torch": "2.3.1"}}})},
]})
out["jobs"] = data
a, b, c = (hashlib.sha256(x).hexdigest() for x in (b"raw", b"clean", b"model"))
data, err = request("POST", "/api/v1/artifacts/batch", {"artifacts": [
    {"hashes": [{"algorithm": "blake3", "digest": h}], "size": 10, "source_type": None, "session_hash": session} for h in (a, b, c)]})
out["artifacts"] = data
request("POST", f"/api/v1/sessions/{session}/jobs/1a2b3c4d/inputs", {"artifacts": [{"hash": a, "path": "raw.csv"}]})
request("POST", f"/api/v1/sessions/{session}/jobs/1a2b3c4d/outputs", {"artifacts": [{"hash": b, "path": "clean.csv"}]})
request("POST", f"/api/v1/sessions/{session}/jobs/5e6f7a8b/inputs", {"artifacts": [{"hash": b, "path": "clean.csv"}]})
data, err = request("POST", f"/api/v1/sessions/{session}/jobs/5e6f7a8b/outputs", {"artifacts": [{"hash": c, "path": "model.pt"}]})
out["outputs"] = data
# Remote reproduce: GET artifact, then its dag; build vs run by jobType.
art, _ = request("GET", f"/api/v1/artifacts/{c[:8]}")
dag, _ = request("GET", f"/api/v1/artifacts/{c[:8]}/dag")
out["reproduce"] = {"hash": art["hash"], "gitRepo": dag["gitRepo"], "gitCommit": dag["gitCommit"],
                    "run_steps": [j["command"] for j in dag["jobs"] if j.get("jobType") != "build"]}
_, out["missing"] = request("GET", "/api/v1/artifacts/ffffffff")
print(json.dumps(out))
`;

let reg: Registry;
let key: SshKey;

beforeAll(async () => {
  const dir = tempDir("glaas-py-");
  key = makeKey("ed25519");
  const db = `sqlite:${join(dir, "reg.db")}`;
  expect((await roar(["server", "add-key", "carol", key.publicPath, "--db", db], { cwd: dir })).code).toBe(0);
  reg = await startRegistry({ GLAAS_DATABASE_URL: db });
}, T);

afterAll(async () => {
  await reg?.stop();
});

async function python(env: Record<string, string>) {
  const proc = Bun.spawn(["python3", "-c", CLIENT], {
    // The client's signing files (tempfile, delete=False as the original's) land in this run's temp directories.
    env: { ...process.env, TMPDIR: tempDir("glaas-py-"), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`python client failed (${code}):\n${stderr}`);
  return JSON.parse(stdout);
}

test(
  "the original client's flow: auth probe, four-phase registration, remote reproduce lookup",
  async () => {
    const out = await python({ GLAAS_URL: reg.url, ROAR_SSH_KEY: key.privatePath });
    expect(out.health).toBe(200);
    expect(out.auth_probe).toBe("HTTP 404: artifact 00000000 not found");
    expect(out.session).toMatchObject({ created: true });
    expect(out.jobs.job_ids).toHaveLength(2);
    expect(out.artifacts).toEqual({ created: 3, existing: 0 });
    expect(out.outputs).toEqual({ job_uid: "5e6f7a8b", outputs_linked: 1 });
    expect(out.reproduce).toEqual({
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      gitRepo: "git@github.com:me/p.git",
      gitCommit: "abc123",
      run_steps: ["python prep.py", "python train.py"],
    });
    expect(out.missing).toBe("HTTP 404: artifact ffffffff not found");
    const who = (await fetch(`${reg.url}/api/v1/sessions?limit=1`).then((r) => r.json())) as {
      data: { sessions: { user: string }[] };
    };
    expect(who.data.sessions[0]?.user).toBe("carol");
  },
  T,
);

test(
  "an unenrolled key gets 401 with the reason the client shows",
  async () => {
    const stranger = makeKey("ed25519");
    const out = await python({ GLAAS_URL: reg.url, ROAR_SSH_KEY: stranger.privatePath, MODE: "probe" });
    // What `roar auth test` prints after "Authentication failed: ".
    expect(out.auth_probe).toStartWith("HTTP 401: unknown key SHA256:");
  },
  T,
);
