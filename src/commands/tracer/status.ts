import { Command } from "clipanion";
import { autoChoice, backendStatuses } from "../../trace/select.ts";
import { ConfiguredCommand } from "../base.ts";

export class TracerStatusCommand extends ConfiguredCommand {
  static override paths = [["tracer", "status"], ["tracer"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "Show the tracer backends: found, usable (and why not), and which one auto picks",
  });
  static override outputOptions = { json: "Print JSON" };

  override async execute(): Promise<number> {
    const { config } = this.loadConfig();
    const statuses = backendStatuses();
    const auto = autoChoice(statuses);
    if (this.json) {
      this.printJson({ default: config.tracer.default, auto, backends: statuses });
      return 0;
    }
    const s = this.style;
    this.print(
      `Default tracer: ${config.tracer.default}${config.tracer.default === "auto" ? ` (picks ${auto ?? "nothing usable"})` : ""}`,
    );
    for (const b of statuses) {
      const state = b.usable ? s.green("usable") : s.red("not usable");
      this.print(`  ${b.name.padEnd(8)} ${state}  ${b.library ?? "library not found"}`);
      if (!b.usable || b.reason) this.print(`           ${s.dim(b.reason)}`);
    }
    return 0;
  }
}
