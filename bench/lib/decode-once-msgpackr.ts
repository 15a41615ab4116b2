// Entry of bench/event-decoder.ts: roar's reader (msgpackr + the mapping to typed events).
import { decodeRecords } from "../../src/trace/event-record.ts";
import { decodeOnce } from "./decode-once.ts";

decodeOnce(decodeRecords);
