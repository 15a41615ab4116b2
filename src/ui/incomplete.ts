/** Why a job's trace is incomplete, in words: one text per distinct reason ("no_exit_record (pid 12 (/bin/sh))"). */
export interface IncompleteReason {
  reason: string;
  detail?: string;
}

/**
 * `show` renders a detail for the terminal (see ui/present.ts; identity when the document is presented already).
 * A reason stored as plain text is shown as it is.
 */
export function incompleteTexts(
  reasons: readonly (IncompleteReason | string)[],
  show: (text: string) => string,
): string[] {
  const text = (r: IncompleteReason | string) =>
    typeof r === "string" ? r : r.detail ? `${r.reason} (${show(r.detail)})` : r.reason;
  return [...new Set(reasons.map(text))];
}
