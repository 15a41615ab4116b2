import { describe, expect, test } from "bun:test";
import {
  compositeListing,
  isRemoteUrl,
  parseRemoteUrl,
  publicUrl,
  safeRelativePath,
  uploadKey,
} from "../../src/core/remote.ts";
import { RoarError } from "../../src/shared/errors.ts";

describe("remote URLs", () => {
  test("bucket URLs: bucket, key, prefix", () => {
    expect(parseRemoteUrl("s3://my-bucket/models/model.pt")).toEqual({
      scheme: "s3",
      bucket: "my-bucket",
      key: "models/model.pt",
      isPrefix: false,
    });
    expect(parseRemoteUrl("gs://data.example/run-42/")).toMatchObject({ scheme: "gs", key: "run-42/", isPrefix: true });
    expect(parseRemoteUrl("s3://bucket")).toMatchObject({ key: "", isPrefix: true });
    expect(() => parseRemoteUrl("s3://UPPER/x")).toThrow(RoarError);
    expect(() => parseRemoteUrl("s3://user:pw@bucket/x")).toThrow(RoarError);
    expect(() => parseRemoteUrl("ftp://host/x")).toThrow("unsupported scheme");
    expect(() => parseRemoteUrl("http://host/x")).toThrow("https://");
    expect(isRemoteUrl("S3://b/k")).toBe(true);
    expect(isRemoteUrl("./s3:/b")).toBe(false);
  });

  test("publicUrl drops user:password@ and credential-bearing query parameters, keeps the rest", () => {
    expect(publicUrl("https://alice:hunter2@example.com/a/b.bin?v=3")).toBe("https://example.com/a/b.bin?v=3");
    const presigned =
      "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2024&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef&X-Amz-Security-Token=tok";
    const shown = publicUrl(presigned);
    expect(shown).not.toContain("abcdef");
    expect(shown).not.toContain("AKIA");
    expect(shown).not.toContain("tok");
    expect(shown).toContain("X-Amz-Expires=3600");
    expect(publicUrl("https://h/x?api_key=1&token=2&sig=3&page=4")).toBe("https://h/x?page=4");
    expect(publicUrl("s3://bucket/key")).toBe("s3://bucket/key");
  });

  test("upload keys: a prefix gets the relative name; one file to a key without / lands exactly there", () => {
    const prefix = parseRemoteUrl("s3://bkt/models/");
    const exact = parseRemoteUrl("s3://bkt/models/final.pt");
    const bare = parseRemoteUrl("s3://bkt");
    if (prefix.scheme === "https" || exact.scheme === "https" || bare.scheme === "https") throw new Error("bucket");
    expect(uploadKey(prefix, "model.pt", true)).toBe("models/model.pt");
    expect(uploadKey(exact, "model.pt", true)).toBe("models/final.pt");
    expect(uploadKey(exact, "a/b.txt", false)).toBe("models/final.pt/a/b.txt");
    expect(uploadKey(bare, "x.bin", true)).toBe("x.bin");
  });

  test("object names that would leave the destination are refused", () => {
    expect(safeRelativePath("a/b.txt", "s3://b/p/")).toBe("a/b.txt");
    for (const bad of ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", ""])
      expect(() => safeRelativePath(bad, "s3://b/p/")).toThrow("unsafe");
  });

  test("the composite listing is sorted, one path\\0blake3 line per file, independent of input order", () => {
    const a = { path: "b/2.txt", blake3: "22" };
    const b = { path: "a.txt", blake3: "11" };
    expect(compositeListing([a, b])).toBe("a.txt\u000011\nb/2.txt\u000022\n");
    expect(compositeListing([b, a])).toBe(compositeListing([a, b]));
  });
});
