import { createServer } from "node:https";
import { Agent } from "node:https";
import type { AddressInfo } from "node:net";
import { loopbackTlsIdentity } from "./tls";

export interface ReceivedPost {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SinkAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Answers this much later (to outlast the sender's timeout). */
  delayMs?: number;
}

export interface RunningSink {
  /** https://127.0.0.1:<port>; post to any path, e.g. /teams or /webhook. */
  url: string;
  /** Trusts the sink's certificate; give it to the dispatcher as its https agent. */
  agent: Agent;
  /** Every request received, answered 2xx or not. */
  received: ReceivedPost[];
  /** Only the requests answered with 2xx. */
  delivered(path?: string): ReceivedPost[];
  close(): Promise<void>;
}

/**
 * A local webhook receiver standing in for Teams and other webhooks: records what it is sent and
 * answers as `answer` says (202 by default), to show how delivery copes with 429s and outages.
 */
export async function startWebhookSink(
  answer: (post: ReceivedPost, index: number) => SinkAnswer = () => ({ status: 202 }),
): Promise<RunningSink> {
  const tls = await loopbackTlsIdentity();
  const received: ReceivedPost[] = [];
  const statuses: number[] = [];
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const post = {
        path: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const reply = answer(post, received.length);
      received.push(post);
      statuses.push(reply.status);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
        res.end(reply.status < 300 ? "" : `sink answered ${reply.status}`);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ ca: tls.cert, keepAlive: false });
  return {
    url: `https://127.0.0.1:${port}`,
    agent,
    received,
    delivered: (path) =>
      received.filter(
        (post, i) => statuses[i]! >= 200 && statuses[i]! < 300 && (!path || post.path === path),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
