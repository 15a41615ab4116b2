import { Command, Option } from "clipanion";
import { RoarError } from "../shared/errors.ts";
import { RoarStore } from "../store/store.ts";
import { confirm, isInteractive } from "../ui/prompt.ts";
import { RoarCommand } from "./base.ts";

export class ResetCommand extends RoarCommand {
  static override paths = [["reset"]];
  static override usage = Command.Usage({
    category: "Sessions",
    description: "Start a fresh session (boundary between pipelines)",
    details: `
      Deactivates the current session and starts a new, empty one: step numbers start again at 1 and
      \`roar dag\` shows only what runs from now on. Nothing is deleted: earlier sessions stay queryable with
      \`roar show --session\`. Asks for confirmation on a terminal; elsewhere pass \`-y\`.
    `,
    examples: [["Start a new session without asking", "$0 reset -y"]],
  });

  yes = Option.Boolean("-y,--yes", false, { description: "Do not ask for confirmation" });

  override async execute(): Promise<number> {
    const store = RoarStore.open(this.project(), { write: true });
    try {
      const current = store.activeSession();
      const steps = current ? new Set(store.sessionJobSummaries(current.id).map((j) => j.step)).size : 0;
      if (current) this.note(`Current session has ${steps} step${steps === 1 ? "" : "s"}.`);
      const question = current ? "Start a new session?" : "No active session. Create one?";
      if (!this.yes) {
        if (!isInteractive()) {
          throw new RoarError("refusing to start a new session without confirmation (not a terminal); pass -y");
        }
        if (!(await confirm(question, true))) {
          this.note("Aborted.");
          return 1;
        }
      }
      const next = store.startSession(current?.gitRepo ?? null);
      if (current) this.print(`Deactivated session ${current.uid.slice(0, 12)} (#${current.id}).`);
      this.print(`Created new session ${next.uid.slice(0, 12)} (#${next.id}).`);
      return 0;
    } finally {
      store.close();
    }
  }
}
