// msgpackr's unpack-only entry ships no types of its own; it is the Unpackr of the main entry.
declare module "msgpackr/unpack-no-eval" {
  export { Unpackr } from "msgpackr";
}
