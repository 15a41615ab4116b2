/** Directories a get/put job transferred (`collections` + `collection_members`), and the files `roar get` fetched. */
import type { CollectionRow, NewCollection } from "../core/types.ts";
import { json, type Row, type StoreDb } from "./statements.ts";

/** Records the directories a transfer job moved (inside that job's transaction). */
export function insertCollections(q: StoreDb, jobUid: string, collections: readonly NewCollection[]): void {
  for (const c of collections) {
    const metadata = { ...c.metadata, blake3: c.blake3, jobUid };
    const { id } = q
      .sql("INSERT INTO collections (name, kind, created_at, metadata) VALUES (?, ?, ?, ?) RETURNING id")
      .get(c.name, c.kind, Date.now(), JSON.stringify(metadata)) as { id: number };
    for (const m of c.members)
      q.sql("INSERT INTO collection_members (collection_id, blake3, path) VALUES (?, ?, ?)").run(id, m.blake3, m.path);
  }
}

/** Collections whose composite digest is `blake3`, newest first, with their members (two queries). */
export function collectionsByDigest(q: StoreDb, blake3: string): CollectionRow[] {
  const rows = q
    .sql("SELECT * FROM collections WHERE json_extract(metadata, '$.blake3') = ? ORDER BY id DESC")
    .all(blake3) as Row[];
  if (rows.length === 0) return [];
  const members = new Map<number, { path: string; blake3: string }[]>(rows.map((r) => [r.id as number, []]));
  const memberRows = q
    .sql(
      `SELECT collection_id, path, blake3 FROM collection_members
       WHERE collection_id IN (SELECT value FROM json_each(?)) ORDER BY collection_id, path`,
    )
    .all(JSON.stringify([...members.keys()])) as { collection_id: number; path: string; blake3: string }[];
  for (const m of memberRows) members.get(m.collection_id)?.push({ path: m.path, blake3: m.blake3 });
  return rows.map((r) => {
    const metadata = json(r.metadata, {} as Record<string, unknown>);
    return {
      id: r.id as number,
      name: r.name as string,
      kind: r.kind as CollectionRow["kind"],
      createdAt: r.created_at as number,
      blake3: String(metadata.blake3 ?? ""),
      members: members.get(r.id as number) ?? [],
      metadata,
    };
  });
}

/** Files `roar get` downloaded from a remote URL (newest job first): what `roar show <url>` resolves to. */
export function downloadsOf(q: StoreDb, url: string): { jobUid: string; path: string; blake3: string }[] {
  return q
    .sql(
      `SELECT j.uid AS jobUid, json_extract(f.value, '$.path') AS path, json_extract(f.value, '$.blake3') AS blake3
       FROM jobs j, json_each(j.metadata, '$.transfer.files') f
       WHERE j.kind = 'get' AND json_extract(f.value, '$.url') = ? ORDER BY j.seq DESC`,
    )
    .all(url) as { jobUid: string; path: string; blake3: string }[];
}
