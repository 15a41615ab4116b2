/**
 * The one step every displayed document goes through before it is rendered: secrets redacted
 * (core/redact.ts) and, for text meant for a terminal, control characters escaped (escape.ts). `--json` output is
 * redacted but otherwise exact. Commands build their view object, pass it through `doc()` once, then print or
 * render it.
 */
import { DocumentRedactor, type Redaction } from "../core/redact.ts";
import type { SecretDetector } from "../core/secrets.ts";
import { visible } from "./escape.ts";

export type PresentMode = "json" | "text";

export class Presenter extends DocumentRedactor {
  constructor(
    secrets: SecretDetector,
    readonly mode: PresentMode,
    observe?: (change: Redaction) => void,
  ) {
    super(secrets, observe, mode === "text" ? visible : undefined);
  }
}
