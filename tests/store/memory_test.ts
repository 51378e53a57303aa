import { MemoryEventStore } from "../../store/memory.ts";
import { eventStoreConformance } from "./conformance.ts";

eventStoreConformance("MemoryEventStore", () => new MemoryEventStore());
