/**
 * The AWS SDK classes roar uses, in one module that s3.ts imports only when a transfer needs it. The bundles
 * (launcher and compiled) build this module apart and load it at that moment (scripts/bundle-plugins.ts,
 * awsSdkApart): the SDK is about half of roar's code, which every other command would otherwise load at start.
 */
export { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
export { Upload } from "@aws-sdk/lib-storage";
