/** The part of an ioredis connection that closing needs (core does not depend on ioredis). */
export interface RedisConnection {
  readonly status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
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
