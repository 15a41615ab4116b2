import { expect, test } from "bun:test";
import { packagesSummary, pythonSummary, venvSummary } from "../../src/ui/job-summary.ts";

test("packages summary: the first five pip packages by name, other managers counted", () => {
  const pip = Object.fromEntries(
    ["torch", "numpy", "pandas", "scipy", "attrs", "tqdm", "click"].map((n, i) => [n, `1.${i}`]),
  );
  expect(packagesSummary({ pip, dpkg: { bash: "5.2", coreutils: "9.1" } })).toBe(
    "7 pip (attrs==1.4, click==1.6, numpy==1.1, pandas==1.2, scipy==1.3, …), 2 Debian",
  );
  expect(packagesSummary({ pip: {}, dpkg: { bash: "5.2" } })).toBe("1 Debian");
  expect(packagesSummary({ pip: {}, dpkg: {} })).toBeNull();
  expect(packagesSummary(null)).toBeNull();
});

test("python and venv lines; nothing for a job that ran no Python", () => {
  const python = { executable: "/usr/bin/python3.11", version: "3.11.2", venv: null };
  expect(pythonSummary(python)).toBe("3.11.2 (/usr/bin/python3.11)");
  expect(venvSummary(python)).toBe("none");
  expect(venvSummary({ ...python, venv: "/work/.venv" })).toBe("/work/.venv");
  expect(pythonSummary({ executable: "/x/python", version: null })).toBe("version unknown (/x/python)");
  expect(pythonSummary(null)).toBeNull();
  expect(venvSummary(null)).toBeNull();
});
