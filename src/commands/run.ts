import { Command } from "clipanion";
import { TracedCommand } from "./traced.ts";

export class RunCommand extends TracedCommand {
  static override paths = [["run"]];
  static override usage = Command.Usage({
    category: "Start Here",
    description: "Run a command with provenance tracking",
    details: `
      Traces every file the command and its children read and write, hashes them (BLAKE3) and records a job.
      Everything after the command's first word belongs to the command. roar's report goes to stderr; the
      command's output passes through untouched. The exit status is the command's (128+N when killed by
      signal N, 125 when roar itself failed, 126/127 when the command is not executable / not found).
    `,
    examples: [
      ["Record a training run", "$0 run python train.py --epochs 10"],
      ["Re-run step 2 with another value", "$0 run @2 --epochs=20"],
      ["Add an option step 2 never had", "$0 run --add @2 --dropout=0.2"],
    ],
  });
  readonly kind = "run" as const;
}
