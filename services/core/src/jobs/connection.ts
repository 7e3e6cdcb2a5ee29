import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A connection to Redis: one server, or a Redis Cluster (ElastiCache cluster mode). */
export type RedisClient = Redis | Cluster;

/** The part of a Redis connection that closing needs. */
export interface RedisConnection {
  readonly status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** Where Redis is: a URL, and whether it names one node of a Redis Cluster. */
export interface RedisTarget {
  redisUrl: string;
  redisCluster: boolean;
}

/**
 * Opens a connection to the fleet's Redis with `options` (ioredis's, per server). On a Redis
 * Cluster the URL is one node: the others are found from it, and its user, password and TLS
 * apply to every node.
 */
export function openRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  if (!target.redisCluster) return new Redis(target.redisUrl, options);
  const url = new URL(target.redisUrl);
  const { enableOfflineQueue, ...perNode } = options;
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    redisOptions: {
      ...perNode,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    },
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    // TLS certificates of ElastiCache name the configuration endpoint, not the nodes' addresses
    // the cluster reports: connect to those addresses as they are.
    dnsLookup: (address, callback) => callback(null, address),
  });
}

/**
 * Closes a Redis connection without dropping replies still on their way: a connected one quits,
 * which answers the commands already sent first (cutting it rejects each with "Connection is
 * closed"). One that is not connected is cut: quitting would wait for a server that may be gone.
 */
export async function closeConnection(connection: RedisConnection): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  await connection.quit().catch(() => connection.disconnect());
}
