import { Command, Option } from "clipanion";
import { ConfiguredCommand } from "../base.ts";
import { checkEnvName, notSet } from "./shared.ts";

export class EnvGetCommand extends ConfiguredCommand {
  static override paths = [["env", "get"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "Print the value of a roar-managed variable",
    details: `
      A secret value (a secret-looking name, a name in \`registration.omit.env_vars.names\`, or a detected secret)
      prints as \`<redacted>\`; \`--reveal\` prints it as stored.
    `,
  });

  name = Option.String({ name: "name" });
  reveal = Option.Boolean("--reveal", false, { description: "Print a secret value as stored instead of <redacted>" });

  override async execute(): Promise<number> {
    checkEnvName(this.name);
    const loaded = this.loadConfig(this.project());
    const value = loaded.config.env[this.name];
    if (value === undefined) throw notSet(this.name);
    this.print(this.reveal ? value : (this.presenter("text", loaded).env({ [this.name]: value })[this.name] as string));
    return 0;
  }
}
