/** The bodies of the artifact, job and search pages. */

import type { lineageOf } from "../registry/lineage.ts";
import type { artifactDetail } from "../registry/read.ts";
import type { JobWithIo } from "../registry/views.ts";
import { type Html, html, seg } from "./html.ts";
import { artifactLink, formatDuration, formatSize, formatTime, jobLink, sessionLink, stepLabel } from "./parts.ts";

type Detail = Awaited<ReturnType<typeof artifactDetail>>;
type Lineage = Awaited<ReturnType<typeof lineageOf>>;

export function artifactPage(a: Detail, lineage: Lineage, graph: Html | null): Html {
  const refs = (list: Detail["produced_by"], empty: string) =>
    list.length === 0
      ? html`<p class="empty">${empty}</p>`
      : html`<ul class="refs">${list.map(
          (r) =>
            html`<li>${jobLink(r, `${stepLabel(r)} ${r.command}`)} <span class="meta">as <code>${r.path || "—"}</code> · session ${sessionLink(r.session_hash)} · ${r.user} · ${formatTime(r.timestamp)}</span></li>`,
        )}</ul>`;
  const upstream = lineage.artifacts.filter((x) => x.id !== a.id);
  const paths = new Map<string, string>();
  for (const j of lineage.jobs)
    for (const io of [...j.inputs, ...j.outputs]) if (!paths.has(io.hash)) paths.set(io.hash, io.path);
  return html`<h1>Artifact <code>${a.hash.slice(0, 16)}</code></h1>
<dl class="facts">
<dt>Digest</dt><dd><code class="digest" id="digest">${a.hash}</code> <button type="button" class="copy" data-copy="${a.hash}">Copy</button></dd>
${a.hashes.filter((h) => h.digest !== a.hash).map((h) => html`<dt>${h.algorithm}</dt><dd><code class="digest">${h.digest}</code></dd>`)}
<dt>Size</dt><dd>${formatSize(a.size)}${a.size !== null ? html` <span class="meta">(${a.size} bytes)</span>` : ""}</dd>
<dt>Registered by</dt><dd>${a.user}, ${formatTime(a.created_at)}</dd>
${a.source_type ? html`<dt>Source</dt><dd>${a.source_type}</dd>` : ""}
</dl>
<h2>Produced by</h2>
${refs(a.produced_by, "No registered job wrote this content (an external input).")}
<h2>Consumed by</h2>
${refs(a.consumed_by, "No registered job read it.")}
<h2>Locations</h2>
${
  a.locations.length === 0
    ? html`<p class="empty">No stored copies registered.</p>`
    : html`<ul class="refs">${a.locations.map((l) => html`<li><code>${l.url}</code> <span class="meta">${l.source_type ?? ""} · ${l.user}</span></li>`)}</ul>`
}
<h2>Upstream lineage</h2>
${graph ? html`<figure class="graph">${graph}</figure>` : html`<p class="empty">Nothing upstream.</p>`}
${
  upstream.length > 0
    ? html`<h3>Upstream artifacts</h3><ul class="refs upstream">${upstream.map(
        (u) =>
          html`<li>${artifactLink(u.hash)} <code>${paths.get(u.hash) ?? ""}</code> <span class="meta">${formatSize(u.size)}</span></li>`,
      )}</ul>`
    : ""
}
<p class="api">JSON: <a href="/api/v1/artifacts/${seg(a.hash)}">artifact</a> · <a href="/api/v1/artifacts/${seg(a.hash)}/lineage?depth=10">lineage</a> · <a href="/api/v1/artifacts/${seg(a.hash)}/dag">dag</a></p>`;
}

function ioList(list: JobWithIo["inputs"], empty: string): Html {
  if (list.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table class="list io"><thead><tr><th scope="col">Path</th><th scope="col">Digest</th><th scope="col">Size</th></tr></thead><tbody>
${list.map((io) => html`<tr><td class="path">${io.path || "—"}</td><td>${artifactLink(io.hash)}</td><td class="num">${formatSize(io.size)}</td></tr>\n`)}
</tbody></table>`;
}

/** Python packages (`name version`) and GPU names as the client recorded them. */
function environment(metadata: string | null): { packages: string[]; gpus: string[] } {
  let m: { packages?: { pip?: unknown }; runtime?: { gpu?: unknown } } = {};
  try {
    const parsed: unknown = metadata ? JSON.parse(metadata) : {};
    if (parsed && typeof parsed === "object") m = parsed as typeof m;
  } catch {
    return { packages: [], gpus: [] };
  }
  const pip = m.packages?.pip;
  const packages =
    pip && typeof pip === "object" && !Array.isArray(pip)
      ? Object.entries(pip as Record<string, unknown>).map(([n, v]) => (typeof v === "string" ? `${n} ${v}` : n))
      : [];
  const gpu = m.runtime?.gpu;
  const gpus = Array.isArray(gpu)
    ? gpu
        .map((g) => (g && typeof g === "object" ? (g as { name?: unknown }).name : g))
        .filter((n): n is string => typeof n === "string")
    : [];
  return { packages: packages.slice(0, 200), gpus };
}

export function jobPage(j: JobWithIo): Html {
  const { packages, gpus } = environment(j.metadata);
  return html`<h1>Job ${stepLabel(j)} <code>${j.job_uid.slice(0, 16)}</code></h1>
<pre class="command"><code>${j.command}</code></pre>
<dl class="facts">
<dt>Session</dt><dd>${sessionLink(j.session_hash)}</dd>
<dt>Type</dt><dd>${j.job_type}</dd>
<dt>Started</dt><dd>${formatTime(j.timestamp)}</dd>
<dt>Duration</dt><dd>${formatDuration(j.duration_seconds)}</dd>
<dt>Exit code</dt><dd>${j.exit_code ?? "—"}</dd>
<dt>Git</dt><dd><code>${j.git_commit ?? "—"}</code> on ${j.git_branch ?? "—"}</dd>
<dt>Registered by</dt><dd>${j.user}</dd>
${packages.length > 0 ? html`<dt>Python packages</dt><dd>${packages.join(", ")}</dd>` : ""}
${gpus.length > 0 ? html`<dt>GPU</dt><dd>${gpus.join(", ")}</dd>` : ""}
</dl>
<h2>Inputs (${j.inputs.length})</h2>
${ioList(j.inputs, "No inputs.")}
<h2>Outputs (${j.outputs.length})</h2>
${ioList(j.outputs, "No outputs.")}`;
}

export function searchForm(p: Record<string, string | undefined>, kind: "artifacts" | "jobs"): Html {
  const field = (name: string, label: string, placeholder: string, type = "text") =>
    html`<label>${label} <input type="${type}" name="${name}" value="${p[name] ?? ""}" placeholder="${placeholder}"></label>`;
  return html`<form class="search" action="/search" method="get">
${field("q", "Text", "hash, command or path", "search")}
${field("command", "Command", "python train.py")}
${field("path", "Path", "data/*.csv")}
${field("type", "File type", "pt")}
${field("package", "Package", "torch")}
${field("gpu", "GPU", "any, none or a name")}
${field("user", "User", "alice")}
${field("since", "Since", "2025-01-01")}
${field("until", "Until", "2025-12-31")}
<label>Show <select name="kind"><option value="artifacts"${kind === "artifacts" ? html` selected` : ""}>artifacts</option><option value="jobs"${kind === "jobs" ? html` selected` : ""}>jobs</option></select></label>
<button type="submit">Search</button>
</form>`;
}

export function ambiguousPage(prefix: string, candidates: string[]): Html {
  return html`<h1>Ambiguous digest</h1>
<p class="error"><code>${prefix}</code> starts more than one artifact's digest. Pick one:</p>
<ul class="refs">${candidates.map((c) => html`<li>${artifactLink(c, c)}</li>`)}</ul>`;
}
