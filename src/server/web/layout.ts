/** The page frame every HTML page shares: header, navigation, quick search. */
import { type Html, html } from "./html.ts";

export const HTML_HEADERS: Record<string, string> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  // Scripts and styles only from this server: an escaped string could not run anyway; this makes sure.
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
};

export type Section = "artifacts" | "jobs" | "sessions" | "search" | null;

export function page(title: string, body: Html, section: Section = null, q = ""): Html {
  const nav = (name: Section, href: string, label: string) =>
    html`<a href="${href}"${name === section ? html` aria-current="page"` : ""}>${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · GLaaS</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<header class="top">
<a class="brand" href="/">GLaaS <span>lineage registry</span></a>
<nav>${nav("artifacts", "/", "Artifacts")}${nav("jobs", "/jobs", "Jobs")}${nav("sessions", "/sessions", "Sessions")}${nav("search", "/search", "Search")}</nav>
<form class="quick" action="/search" method="get" role="search">
<input type="search" name="q" value="${q}" placeholder="hash, command or path" aria-label="Quick search">
<button type="submit">Search</button>
</form>
</header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function htmlResponse(body: Html, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body.text, { status, headers: { ...HTML_HEADERS, ...headers } });
}
