/** The part of s3rver's (untyped) API the S3 test server uses. */
declare module "s3rver" {
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    configureBuckets?: { name: string; configs: (string | Buffer)[] }[];
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    /** The filesystem store behind the server (patched by s3-server.ts). */
    store: unknown;
    run(): Promise<unknown>;
    close(): Promise<void>;
  }
}
