/** Yes/no questions: asked only on a TTY; elsewhere the caller decides (flags like -y). */
import { isTerminal, stderr } from "./std-streams.ts";

export function isInteractive(): boolean {
  return isTerminal(0) && stderr.isTTY;
}

export async function confirm(question: string, defaultYes: boolean): Promise<boolean> {
  stderr.write(`${question} ${defaultYes ? "[Y/n]" : "[y/N]"} `);
  const answer = await readLine();
  const a = answer.trim().toLowerCase();
  if (a === "") return defaultYes;
  return a === "y" || a === "yes";
}

async function readLine(): Promise<string> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      if (chunk.includes(10)) done();
    };
    const done = () => {
      process.stdin.off("data", onData);
      process.stdin.off("end", done);
      process.stdin.pause();
      resolve(Buffer.concat(chunks).toString("utf8").split("\n")[0] ?? "");
    };
    process.stdin.on("data", onData);
    process.stdin.on("end", done);
    process.stdin.resume();
  });
}
