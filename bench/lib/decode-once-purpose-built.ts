// Entry of bench/event-decoder.ts: the purpose-built reader msgpackr is measured against.
import { decodeOnce } from "./decode-once.ts";
import { decodeRecords } from "./purpose-built-event-reader.ts";

decodeOnce(decodeRecords);
