/**
 * Loaded before every test file (bunfig.toml [test] preload): the temp directories of the whole run are removed
 * after its last test (see tempDir), and those a killed earlier run left behind before its first.
 */
import { afterAll, beforeAll } from "bun:test";
import { removeTempDirs } from "./cli.ts";

beforeAll(removeTempDirs);
afterAll(removeTempDirs);
