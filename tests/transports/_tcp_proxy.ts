// A TCP proxy on 127.0.0.1 that a test can cut: every connection through it
// is closed at once, both ways, like a network path that fails mid-stream.

/** A running proxy. */
export interface TcpProxy extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  /** The text of every request head that went through it, in order. */
  readonly requests: string[];
  /** Closes every open connection through it; new ones are still accepted. */
  cut(): void;
}

/** Starts a proxy from a free port on 127.0.0.1 to `targetPort` there. */
export function startTcpProxy(targetPort: number): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const requests: string[] = [];
  const decoder = new TextDecoder();
  const pipes: Promise<void>[] = [];
  const pipe = async (from: Deno.Conn, to: Deno.Conn, record: boolean) => {
    try {
      for await (const chunk of from.readable) {
        if (record) {
          const text = decoder.decode(chunk);
          if (/^(GET|POST) /.test(text)) requests.push(text.split("\r\n\r\n")[0]!);
        }
        const writer = to.writable.getWriter();
        try {
          await writer.write(chunk);
        } finally {
          writer.releaseLock();
        }
      }
    } catch {
      // Cut: the other side is closed below.
    }
    for (const conn of [from, to]) {
      if (open.delete(conn)) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      open.add(client);
      open.add(server);
      pipes.push(pipe(client, server, true), pipe(server, client, false));
    }
  })().catch(() => {});
  const cut = () => {
    for (const conn of [...open]) {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    requests,
    cut,
    async [Symbol.asyncDispose]() {
      listener.close();
      cut();
      await accepting;
      await Promise.all(pipes);
    },
  };
}
