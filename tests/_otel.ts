// An in-memory OpenTelemetry tracer and meter provider, written against the
// interfaces of `@opentelemetry/api` alone (no SDK): spans and measurements
// are kept as plain records for tests to read.

import {
  type Attributes,
  type Context,
  context as contextApi,
  type Counter,
  type Histogram,
  isSpanContextValid,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableCallback,
  type ObservableGauge,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";

/** One span as recorded. */
export interface RecordedSpan {
  name: string;
  traceId: string;
  spanId: string;
  /** The parent's span id, or `undefined` for a root span. */
  parentSpanId: string | undefined;
  kind: number | undefined;
  attributes: Attributes;
  events: { name: string; attributes: Attributes }[];
  status: SpanStatus;
  ended: boolean;
}

/** One measurement as recorded: an instrument's name, value and attributes. */
export interface Measurement {
  instrument: string;
  value: number;
  attributes: Attributes;
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

class RecordingSpan implements Span {
  readonly #context: SpanContext;
  readonly record: RecordedSpan;

  constructor(record: RecordedSpan) {
    this.record = record;
    this.#context = {
      traceId: record.traceId,
      spanId: record.spanId,
      traceFlags: TraceFlags.SAMPLED,
    };
  }

  spanContext(): SpanContext {
    return this.#context;
  }
  setAttribute(key: string, value: Attributes[string]): this {
    if (value !== undefined) this.record.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.record.attributes, attributes);
    return this;
  }
  addEvent(name: string, attributes?: Attributes | number): this {
    this.record.events.push({
      name,
      attributes: typeof attributes === "object" ? { ...attributes } : {},
    });
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.record.status = status;
    return this;
  }
  updateName(name: string): this {
    this.record.name = name;
    return this;
  }
  end(): void {
    this.record.ended = true;
  }
  isRecording(): boolean {
    return !this.record.ended;
  }
  recordException(): void {}
}

/** A tracer provider keeping every span in {@linkcode spans}. */
export class MemoryTracerProvider implements TracerProvider {
  readonly spans: RecordedSpan[] = [];

  getTracer(): Tracer {
    const spans = this.spans;
    const startSpan = (name: string, options: SpanOptions = {}, context?: Context): Span => {
      const parent = trace.getSpanContext(context ?? contextApi.active());
      const valid = parent !== undefined && isSpanContextValid(parent);
      const record: RecordedSpan = {
        name,
        traceId: valid ? parent.traceId : randomHex(16),
        spanId: randomHex(8),
        parentSpanId: valid ? parent.spanId : undefined,
        kind: options.kind,
        attributes: { ...options.attributes },
        events: [],
        status: { code: SpanStatusCode.UNSET },
        ended: false,
      };
      spans.push(record);
      return new RecordingSpan(record);
    };
    const startActiveSpan = (name: string, ...rest: unknown[]) => {
      const fn = rest.pop() as (span: Span) => unknown;
      const [options, context] = rest as [SpanOptions | undefined, Context | undefined];
      const span = startSpan(name, options, context);
      return contextApi.with(
        trace.setSpan(context ?? contextApi.active(), span),
        fn,
        undefined,
        span,
      );
    };
    return { startSpan, startActiveSpan } as Tracer;
  }

  /** The spans named `name`. */
  named(name: string): RecordedSpan[] {
    return this.spans.filter((span) => span.name === name);
  }
}

/** A meter provider keeping every measurement in {@linkcode measurements}. */
export class MemoryMeterProvider implements MeterProvider {
  readonly measurements: Measurement[] = [];
  readonly #observers: { instrument: string; callback: ObservableCallback }[] = [];

  getMeter(): Meter {
    const synchronous = (name: string) => {
      const add = record(this.measurements, name);
      return { add, record: add };
    };
    const observable = (name: string) => ({
      addCallback: (callback: ObservableCallback) => {
        this.#observers.push({ instrument: name, callback });
      },
      removeCallback: (callback: ObservableCallback) => {
        const index = this.#observers.findIndex((o) => o.callback === callback);
        if (index >= 0) this.#observers.splice(index, 1);
      },
    });
    return {
      createCounter: (name: string) => synchronous(name) as unknown as Counter,
      createUpDownCounter: (name: string) => synchronous(name) as unknown as Counter,
      createHistogram: (name: string) => synchronous(name) as unknown as Histogram,
      createGauge: (name: string) => synchronous(name),
      createObservableGauge: (name: string) => observable(name) as unknown as ObservableGauge,
      createObservableCounter: (name: string) => observable(name),
      createObservableUpDownCounter: (name: string) => observable(name),
      addBatchObservableCallback: () => {},
      removeBatchObservableCallback: () => {},
    } as unknown as Meter;
  }

  /** Runs the observable instruments' callbacks, recording what they observe. */
  async collect(): Promise<void> {
    for (const { instrument, callback } of this.#observers) {
      await callback({ observe: record(this.measurements, instrument) });
    }
  }

  /** The measurements of `instrument`. */
  of(instrument: string): Measurement[] {
    return this.measurements.filter((m) => m.instrument === instrument);
  }

  /** How many observers are registered (observable instruments' callbacks). */
  get observers(): number {
    return this.#observers.length;
  }
}

/** Records measurements of `instrument` into `measurements`. */
function record(
  measurements: Measurement[],
  instrument: string,
): (value: number, attributes?: Attributes) => void {
  return (value: number, attributes: Attributes = {}) => {
    measurements.push({ instrument, value, attributes: { ...attributes } });
  };
}

/**
 * Registers a fresh pair of in-memory providers as the global ones: once
 * per process (the API keeps the first), so a test module calls it once.
 */
export function registerMemoryProviders(): {
  tracer: MemoryTracerProvider;
  meter: MemoryMeterProvider;
} {
  const tracer = new MemoryTracerProvider();
  const meter = new MemoryMeterProvider();
  if (!trace.setGlobalTracerProvider(tracer) || !metrics.setGlobalMeterProvider(meter)) {
    throw new Error("A global OpenTelemetry provider was already registered");
  }
  return { tracer, meter };
}
