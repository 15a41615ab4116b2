/**
 * The secret detector against a corpus: tokens of every provider kind it knows, URLs with and without
 * credentials, command-line and env-assignment forms, and harmless look-alikes that must stay untouched.
 * Token values are synthetic (right shape, random characters).
 */
import { describe, expect, test } from "bun:test";
import { looksSecretName } from "../../src/core/secret-patterns.ts";
import { type OmitSettings, REDACTED, SecretDetector } from "../../src/core/secrets.ts";

const settings = (over: Partial<OmitSettings> = {}): OmitSettings => ({
  enabled: true,
  secrets: { values: [] },
  env_vars: { names: ["WANDB_API_KEY", "DATABASE_URL"] },
  allowlist: { patterns: [] },
  patterns: [],
  ...over,
});

const A36 = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5";
const A40 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8v2L4k1M";

/** [text, detector ids expected, the secret part that must be gone after redaction]. */
const POSITIVE: [string, string[], string][] = [
  [`key AKIAQ3XK7P2M9RT4WZ8N here`, ["aws_access_key"], "AKIAQ3XK7P2M9RT4WZ8N"],
  [`ASIAQ3XK7P2M9RT4WZ8N`, ["aws_access_key"], "ASIAQ3XK7P2M9RT4WZ8N"],
  [`aws_secret_access_key=${A40}`, ["aws_secret_key"], A40],
  [`aws_secret: "${A40}"`, ["aws_secret_key"], A40],
  [`ghp_${A36}`, ["github_token"], `ghp_${A36}`],
  [`token gho_${A36}`, ["github_token"], `gho_${A36}`],
  [`ghs_${A36}`, ["github_token"], A36],
  [`github_pat_11ABCDEFG0123456789abc_${"x7Y".repeat(19)}ab`, ["github_pat"], "x7Yx7Yx7Y"],
  [`sk-${"Tq4Rv8Xz2Lm6Np0Bc5Df9Gh3".repeat(2)}`, ["openai_key"], "Tq4Rv8Xz2Lm6Np0Bc5Df9Gh3"],
  [`OPENAI=sk-proj-Ab_3-Cd4Ef5Gh6Ij7Kl8Mn9Op0Qr1St2Uv3`, ["openai_key"], "Cd4Ef5Gh6Ij7Kl8Mn9Op0Qr1St2Uv3"],
  [`sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2-Ji1Hg0Fe`, ["anthropic_key"], "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"],
  [`hf_${A36.slice(0, 34)}`, ["huggingface_token"], A36.slice(0, 34)],
  [`--api-key abcdefghijklmnop1234`, ["generic_api_key_arg"], "abcdefghijklmnop1234"],
  [`--apikey=ZZZZyyyyXXXXwwww9999`, ["generic_api_key_arg"], "ZZZZyyyyXXXXwwww9999"],
  [`--token=Qw3rTy5UiOp7AsDf9GhJ`, ["generic_token_arg"], "Qw3rTy5UiOp7AsDf9GhJ"],
  [`run --auth-token "Qw3rTy5UiOp7AsDf9GhJ"`, ["generic_token_arg"], "Qw3rTy5UiOp7AsDf9GhJ"],
  [`mysql --password hunter2 -h db`, ["generic_password_arg"], "hunter2"],
  [`--passwd=opensesame`, ["generic_password_arg"], "opensesame"],
  [`-pwd 'my pass phrase'`, ["generic_password_arg"], "my pass phrase"],
  [`--secret-key=abc123`, ["generic_secret_arg"], "abc123"],
  [`--client-secret s3cr3t`, ["generic_secret_arg"], "s3cr3t"],
  [`Authorization: Bearer abcdefghij0123456789XYZ`, ["bearer_token"], "abcdefghij0123456789XYZ"],
  [`Authorization: Basic dXNlcjpwYXNzd29yZDEyMzQ=`, ["bearer_token"], "dXNlcjpwYXNzd29yZDEyMzQ="],
  [`https://user:pw123@github.com/org/repo.git`, ["git_url_creds"], "pw123"],
  [`git clone https://x-access-token:tok3n@github.com/o/r`, ["git_url_creds"], "tok3n"],
  [`postgres://admin:s3cret@db:5432/app`, ["database_url"], "s3cret"],
  [`postgresql+psycopg2://u:pgpass@h/db`, ["database_url"], "pgpass"],
  [`mongodb+srv://root:m0ngo@cluster0.example.net/x`, ["database_url"], "m0ngo"],
  [`redis://:r3dispass@cache:6379/0`, ["database_url"], "r3dispass"],
  [`mysql://root:p@ss@localhost/db`, ["database_url"], "p@ss"],
  [
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    ["private_key"],
    "b3BlbnNzaC1rZXktdjEAAAAA",
  ],
  [
    `https://hooks.slack.com/services/T0000AAAA/B0000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX`,
    ["slack_webhook"],
    "XXXXXXXXXXXXXXXXXXXXXXXX",
  ],
  [`xoxb-123456789012-1234567890123-AbCdEfGh`, ["slack_token"], "1234567890123-AbCdEfGh"],
  [`glpat-Ab3De5Gh7Jk9Mn1Pq3St`, ["gitlab_token"], "Ab3De5Gh7Jk9Mn1Pq3St"],
  [`AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q`, ["google_api_key"], "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"],
  [`sk_live_4eC39HqLyjWDarjtT1zdp7dc`, ["stripe_key"], "4eC39HqLyjWDarjtT1zdp7dc"],
  [`npm_${A36}`, ["npm_token"], A36],
  [
    `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U`,
    ["jwt"],
    "dozjgNryP4J3jVmNHl0w5N",
  ],
  [`env API_TOKEN=abc123 ./serve`, ["env_var_assignment"], "abc123"],
  [`export DB_PASSWORD="p a s s"`, ["env_var_assignment"], "p a s s"],
  [`GH_PAT=patvalue1`, ["env_var_assignment"], "patvalue1"],
  [`curl https://api.example.com/v1?api_key=abcdef&x=1`, ["env_var_assignment"], "abcdef"],
  [`curl https://api.example.com/v1?accessToken=zyxw9876`, ["env_var_assignment"], "zyxw9876"],
];

/** Harmless look-alikes: nothing detected, text unchanged. */
const NEGATIVE: string[] = [
  "python train.py --lr 0.1 --epochs 10 data.csv model.pt",
  "https://example.com/path/to/file.csv",
  "http://localhost:8080/api/v1",
  "ssh://git@github.com/org/repo.git",
  "git@github.com:org/repo.git",
  "https://user@host.example/repo.git",
  "--max-tokens 512",
  "--max_tokens=512",
  "--token-limit 100",
  "--token short",
  "--password-file /run/secrets/db",
  "--secret-name prod",
  "MAX_TOKENS=512",
  "TOKENIZER=gpt2",
  "PATH=/usr/bin:/bin",
  "PYTHONPATH=src",
  "PWD=/home/u",
  "KEYBOARD_LAYOUT=us",
  "data/task-abcdefghijklmnopqrstuvwxyz.csv",
  "scikit-learn==1.4.0 sk-learn-is-not-a-key-at-all",
  "shelf_abcdefghijklmnopqrstuvwxyz0123456789",
  "akiaq3xk7p2m9rt4wz8n",
  "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
  "-----BEGIN PUBLIC KEY-----",
  "https://hooks.example.com/services/x",
  "bearer of bad news",
  "ghp_short",
  "outputs/model_v2.pt",
];

describe("secret detector corpus", () => {
  const detector = new SecretDetector(settings());

  test("the corpus has at least 40 positive and negative cases", () => {
    expect(POSITIVE.length + NEGATIVE.length).toBeGreaterThanOrEqual(40);
  });

  for (const [text, ids, secret] of POSITIVE) {
    test(`detects ${ids.join(", ")}: ${JSON.stringify(text.slice(0, 50))}`, () => {
      expect(text).toContain(secret);
      for (const id of ids) expect(detector.ids(text)).toContain(id);
      const redacted = detector.redactText(text);
      expect(redacted).not.toContain(secret);
      expect(redacted).toContain(REDACTED);
    });
  }

  for (const text of NEGATIVE) {
    test(`leaves alone: ${JSON.stringify(text.slice(0, 50))}`, () => {
      expect(detector.find(text)).toEqual([]);
      expect(detector.redactText(text)).toBe(text);
    });
  }

  test("a URL keeps its scheme and host; only the credentials go", () => {
    expect(detector.redactText("https://user:pw@github.com/o/r.git")).toBe(`https://${REDACTED}@github.com/o/r.git`);
    expect(detector.redactText("mysql --password hunter2 -h db")).toBe(`mysql --password ${REDACTED} -h db`);
  });
});

describe("argv", () => {
  const detector = new SecretDetector(settings());

  test("an option and its value as two elements", () => {
    expect(detector.redactArgv(["mysql", "--password", "hunter2", "-h", "db"])).toEqual([
      "mysql",
      "--password",
      REDACTED,
      "-h",
      "db",
    ]);
    expect(detector.redactArgv(["x", "--token", "Qw3rTy5UiOp7AsDf9GhJ"])).toEqual(["x", "--token", REDACTED]);
    expect(detector.redactArgv(["x", "--secret", "s"])).toEqual(["x", "--secret", REDACTED]);
  });

  test("short token values and look-alike options are kept (the original's 16-character threshold)", () => {
    const argv = ["x", "--token", "short", "--max-tokens", "512", "--password-file", "p.txt"];
    expect(detector.redactArgv(argv)).toEqual(argv);
  });

  test("--opt=value and values inside a shell string", () => {
    expect(detector.redactArgv(["x", "--token=Qw3rTy5UiOp7AsDf9GhJ", "bash", "-c", "psql --password=pw1 db"])).toEqual([
      "x",
      `--token=${REDACTED}`,
      "bash",
      "-c",
      `psql --password=${REDACTED} db`,
    ]);
  });
});

describe("settings", () => {
  test("literal secrets.values are redacted wherever they appear", () => {
    const d = new SecretDetector(settings({ secrets: { values: ["corp-literal-42"] } }));
    expect(d.ids("echo corp-literal-42!")).toEqual(["explicit_secret"]);
    expect(d.redactText("a/corp-literal-42/b")).toBe(`a/${REDACTED}/b`);
  });

  test("custom patterns, with a Python-style (?i) flag", () => {
    const d = new SecretDetector(
      settings({
        patterns: [
          { id: "ticket", pattern: "TCK-[0-9]{6}", description: "tickets" },
          { id: "internal", pattern: "(?i)int-[a-z]{4}" },
        ],
      }),
    );
    expect(d.ids("see TCK-123456")).toEqual(["ticket"]);
    expect(d.ids("INT-ABCD")).toEqual(["internal"]);
    expect(d.redactText("TCK-12345")).toBe("TCK-12345");
  });

  test("an invalid custom regex is a one-line error naming the setting", () => {
    expect(() => new SecretDetector(settings({ patterns: [{ id: "bad", pattern: "([" }] }))).toThrow(
      /registration\.omit\.patterns \(id 'bad'\)/,
    );
  });

  test("an allowlisted match is kept", () => {
    const d = new SecretDetector(settings({ allowlist: { patterns: ["EXAMPLE$"] } }));
    expect(d.redactText("AKIAIOSFODNN7EXAMPLE")).toBe("AKIAIOSFODNN7EXAMPLE");
    expect(d.redactText("AKIAQ3XK7P2M9RT4WZ8N")).toBe(REDACTED);
  });

  test("values of secret-named environment variables are redacted as literals (8+ characters)", () => {
    const d = new SecretDetector(settings(), [{ MY_SERVICE_TOKEN: "plainvalue9", SEED: "12345678", DB_PASS: "short" }]);
    expect(d.redactText("cmd plainvalue9")).toBe(`cmd ${REDACTED}`);
    expect(d.redactText("seed 12345678 short")).toBe("seed 12345678 short");
  });

  test("enabled = false shows text as is, but stored env stays redacted", () => {
    const d = new SecretDetector(settings({ enabled: false }));
    expect(d.redactText("--password hunter2")).toBe("--password hunter2");
    expect(d.redactArgv(["--password", "hunter2"])).toEqual(["--password", "hunter2"]);
    expect(d.storedEnv({ DB_PASS: "hunter2" })).toEqual({ DB_PASS: REDACTED });
  });
});

describe("environment variables", () => {
  test("secret-looking names", () => {
    for (const name of [
      "DB_PASS",
      "GH_PAT",
      "API_TOKEN",
      "OPENAI_API_KEY",
      "SLACK_WEBHOOK_URL",
      "AWS_SECRET_ACCESS_KEY",
      "SENTRY_DSN",
      "apiKey",
      "dbPassword",
      "GOOGLE_APPLICATION_CREDENTIALS",
    ]) {
      expect(looksSecretName(name)).toBe(true);
    }
    for (const name of ["PATH", "PYTHONPATH", "PWD", "OLDPWD", "MAX_TOKENS", "TOKENIZER", "SEED", "BYPASS_CACHE"]) {
      expect(looksSecretName(name)).toBe(false);
    }
  });

  test("stored env: secret names, listed names and values holding a secret are redacted", () => {
    const d = new SecretDetector(settings());
    expect(
      d.storedEnv({
        DB_PASS: "hunter2",
        GH_PAT: "x",
        DATABASE_URL: "sqlite:///local.db",
        MONGO_URI: "mongodb://admin:m0ngo@db/x",
        SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0/B0/XXXX",
        SEED: "42",
        DATA_DIR: "/data",
      }),
    ).toEqual({
      DB_PASS: REDACTED,
      GH_PAT: REDACTED,
      DATABASE_URL: REDACTED,
      MONGO_URI: REDACTED,
      SLACK_WEBHOOK_URL: REDACTED,
      SEED: "42",
      DATA_DIR: "/data",
    });
  });
});
