/** `roar register` in text: the dry run's preview and the registration's result (documents already presented). */
import type { Styler } from "./style.ts";

export interface RegisterDoc {
  schemaVersion: number;
  dryRun: boolean;
  target: { kind: string; label: string; blake3: string | null };
  registry: string;
  /** The signing key's fingerprint, or null (anonymous). */
  key: string | null;
  user: string | null;
  anonymous: boolean;
  sessions: { hash: string; url: string | null }[];
  jobs: { uid: string; label: string; command: string }[];
  counts: { sessions: number; jobs: number; artifacts: number; links: number; collapsed: number };
  redactions: { where: string; ids: string[] }[];
  secretTypes: string[];
  /** Set in a dry run when registering now would be refused for uncommitted changes. */
  blockedBy: string | null;
  tags: string[];
  pushed: boolean | null;
  urls: { session: string | null; artifact: string | null };
  reproduce: string | null;
}

export function renderRegister(d: RegisterDoc, s: Styler): string[] {
  const out: string[] = [];
  out.push(d.dryRun ? `Dry run - would register: ${d.target.label}` : `Registered lineage for: ${d.target.label}`);
  const sessions = d.sessions.map((x) => `${x.hash.slice(0, 12)}…`).join(", ");
  out.push(`  Session:   ${sessions}`);
  out.push(
    `  Jobs:      ${d.counts.jobs}${d.counts.collapsed ? s.dim(` (${d.counts.collapsed} identical re-run(s) left out)`) : ""}`,
  );
  if (d.dryRun) for (const j of d.jobs) out.push(s.dim(`    ${j.label.padEnd(5)} ${j.command}`));
  out.push(`  Artifacts: ${d.counts.artifacts}`);
  out.push(`  Links:     ${d.counts.links}`);
  if (d.secretTypes.length > 0) {
    out.push(
      `  ${d.dryRun ? "Secrets to redact" : "Secrets redacted"}: ${d.secretTypes.length} type(s) (${d.secretTypes.join(", ")})`,
    );
    if (d.dryRun) for (const r of d.redactions) out.push(`    ${r.where}: ${r.ids.join(", ")}`);
  }
  if (d.dryRun) {
    out.push(
      `  Registry:  ${d.registry || "(none: glaas.url is empty)"}${d.key ? ` (signed with ${d.key})` : " (anonymous)"}`,
    );
    if (d.blockedBy) out.push(s.yellow(`  Registering now would be refused: ${d.blockedBy}`));
  } else {
    out.push(`  As:        ${d.anonymous ? "anonymous" : (d.user ?? "(signed)")}`);
    if (d.tags.length > 0) out.push(`Tagged ${d.tags.join(", ")}${d.pushed === true ? " (pushed to origin)" : ""}`);
  }
  if (d.reproduce) out.push("", "To reproduce this artifact:", `  ${d.reproduce}`);
  if (d.urls.session || d.urls.artifact) {
    out.push("", d.dryRun ? "GLaaS links once registered:" : "View on GLaaS:");
    if (d.urls.session) out.push(`  Session:  ${d.urls.session}`);
    if (d.urls.artifact) out.push(`  Artifact: ${d.urls.artifact}`);
  }
  return out;
}
