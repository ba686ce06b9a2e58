import { Cluster, Redis } from 'ioredis';
import { type LocalRedis, startRedisServer } from '../support/redis-server.js';

const SLOTS = 16_384;

export interface LocalCluster {
  nodes: LocalRedis[];
  /** `REDIS_CLUSTER_NODES` for the services: host:port of every master. */
  nodeList: string;
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `size` masters (no replicas) from the local redis-server binary, each on a
 * free loopback port in its own temp dir: slots split evenly with CLUSTER ADDSLOTSRANGE, nodes joined
 * with CLUSTER MEET, ready once every node reports cluster_state:ok and knows every other node.
 */
export async function startRedisCluster(size = 3): Promise<LocalCluster> {
  const nodes: LocalRedis[] = [];
  try {
    for (let i = 0; i < size; i++)
      nodes.push(await startRedisServer(['--cluster-enabled', 'yes', '--cluster-node-timeout', '5000']));
    const clients = nodes.map((node) => new Redis(node.url, { maxRetriesPerRequest: 1 }));
    try {
      await Promise.all(
        clients.map((client, i) => {
          const first = Math.floor((i * SLOTS) / size);
          const last = Math.floor(((i + 1) * SLOTS) / size) - 1;
          return client.call('CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
        }),
      );
      for (const node of nodes.slice(1))
        await clients[0]?.call('CLUSTER', 'MEET', '127.0.0.1', String(node.port));
      await waitUntilFormed(clients, size);
    } finally {
      for (const client of clients) client.disconnect();
    }
    const cluster: LocalCluster = {
      nodes,
      nodeList: nodes.map((node) => `127.0.0.1:${node.port}`).join(','),
      async stop() {
        await Promise.all(nodes.map((node) => node.stop()));
      },
    };
    await waitForClusterClient(cluster.nodeList);
    return cluster;
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
}

async function waitUntilFormed(clients: Redis[], size: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const infos = await Promise.all(
      clients.map((client) => client.call('CLUSTER', 'INFO') as Promise<string>),
    );
    if (
      infos.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${size}`))
    )
      return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster did not form:\n${infos.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The cluster's view must have settled for every client, not only the node that was asked. */
async function waitForClusterClient(nodeList: string): Promise<void> {
  const [host, port] = (nodeList.split(',')[0] as string).split(':');
  const client = new Cluster([{ host: host as string, port: Number(port) }]);
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await client.set('{probe}:ready', '1');
        const masters = client.nodes('master').length;
        if (masters === nodeList.split(',').length) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error('cluster client never saw every master');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.disconnect();
  }
}
