/** Socket addresses of NET records, as text. */

/** "1.2.3.4:80" or "[2001:db8::1]:443" from a `struct sockaddr_in` / `sockaddr_in6` (native-endian family). */
export function sockaddrText(sa: Uint8Array): string {
  const view = new DataView(sa.buffer, sa.byteOffset, sa.byteLength);
  if (sa.length < 4) return "?";
  const family = view.getUint16(0, true);
  const port = view.getUint16(2, false);
  if (family === 2 && sa.length >= 8) return `${[...sa.subarray(4, 8)].join(".")}:${port}`;
  if (family === 10 && sa.length >= 24) {
    const words: string[] = [];
    for (let i = 0; i < 8; i++) words.push(view.getUint16(8 + 2 * i, false).toString(16));
    // the longest run of zero words becomes "::"
    let best = [-1, 0];
    for (let i = 0; i < 8; ) {
      let j = i;
      while (j < 8 && words[j] === "0") j++;
      if (j - i > (best[1] ?? 0) && j - i > 1) best = [i, j - i];
      i = j === i ? i + 1 : j;
    }
    const [at = -1, len = 0] = best;
    const text = at < 0 ? words.join(":") : `${words.slice(0, at).join(":")}::${words.slice(at + len).join(":")}`;
    return `[${text}]:${port}`;
  }
  return "?";
}
