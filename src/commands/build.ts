import { Command } from "clipanion";
import { TracedCommand } from "./traced.ts";

export class BuildCommand extends TracedCommand {
  static override paths = [["build"]];
  static override usage = Command.Usage({
    category: "Start Here",
    description: "Run a build step (compile, install) with provenance tracking",
    details: `
      Like \`roar run\`, but records a build step (\`@BN\`): build steps run first when reproducing. Unlike the
      original roar, build jobs keep their inputs and outputs.
    `,
    examples: [["Install the project", "$0 build pip install -e ."]],
  });
  readonly kind = "build" as const;
}
