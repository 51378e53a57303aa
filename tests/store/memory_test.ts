import { MemoryStore } from "../../store/memory.ts";
import { eventStoreConformance } from "./conformance.ts";

eventStoreConformance("MemoryStore", () => new MemoryStore());
