/**
 * Loaded before every test file (bunfig.toml [test] preload): the temp directories of the whole run are removed
 * after its last test (see tempDir), and those a killed earlier run left behind before its first.
 */
import { afterAll, beforeAll } from "bun:test";
import { removeTempDirs } from "./cli.ts";

// Not this run's own before the first test: a test file may have built fixtures in them as it loaded.
beforeAll(() => removeTempDirs({ keepOwn: true }));
afterAll(() => removeTempDirs());
