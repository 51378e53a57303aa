import { MemoryStore } from "../../store/memory.ts";
import { runtimeStoreConformance } from "./conformance.ts";

runtimeStoreConformance("MemoryStore", () => new MemoryStore());
