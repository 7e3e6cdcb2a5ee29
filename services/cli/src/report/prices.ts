import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const DEFAULT_PRICES_FILE = fileURLToPath(new URL('./spot-prices.yaml', import.meta.url));

/** Price per instance-hour by instance type. */
export interface PriceTable {
  currency: string;
  prices: Record<string, number>;
}

export function parsePriceTable(text: string, source: string): PriceTable {
  const data = parseYaml(text) as { currency?: unknown; prices?: unknown } | null;
  if (!data || typeof data !== 'object' || !data.prices || typeof data.prices !== 'object') {
    throw new Error(`${source}: expected a "prices" map of instance type to price per hour`);
  }
  const prices: Record<string, number> = {};
  for (const [type, price] of Object.entries(data.prices as Record<string, unknown>)) {
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) {
      throw new Error(
        `${source}: price of ${type} must be a non-negative number, got ${JSON.stringify(price)}`,
      );
    }
    prices[type] = price;
  }
  return { currency: typeof data.currency === 'string' ? data.currency : 'USD', prices };
}

/** The default table, with the entries of `overrideFile` (YAML or JSON) replacing its own. */
export async function loadPriceTable(overrideFile?: string): Promise<PriceTable> {
  const base = parsePriceTable(await readFile(DEFAULT_PRICES_FILE, 'utf8'), DEFAULT_PRICES_FILE);
  if (!overrideFile) return base;
  const override = parsePriceTable(await readFile(overrideFile, 'utf8'), overrideFile);
  return { currency: override.currency, prices: { ...base.prices, ...override.prices } };
}
