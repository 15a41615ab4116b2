import { Command } from "clipanion";
import { ConfiguredCommand } from "../base.ts";

export class EnvListCommand extends ConfiguredCommand {
  static override paths = [["env", "list"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "List the variables injected into roar run / roar build",
  });
  static override outputOptions = { json: "Print JSON" };

  override async execute(): Promise<number> {
    const loaded = this.loadConfig(this.project());
    // Secret-named and secret-looking values are shown as <redacted>; `roar env get NAME --reveal` prints one.
    const env = this.presenter(this.json ? "json" : "text", loaded).env(loaded.config.env);
    const names = Object.keys(env).sort();
    if (this.json) {
      this.printJson({ env: Object.fromEntries(names.map((n) => [n, env[n]])) });
      return 0;
    }
    if (names.length === 0) {
      this.note("No environment variables set.");
      return 0;
    }
    for (const n of names) this.print(`${n}=${env[n]}`);
    return 0;
  }
}
