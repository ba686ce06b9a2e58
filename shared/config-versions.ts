import { z } from 'zod';
import {
  type ConfigVersion,
  configRefusalSchema,
  configVersionSchema,
  type WatchedConfig,
} from './config-reload.js';
import type { Keyspace } from './keys.js';
import type { Logger } from './logger.js';
import type { RedisConnection } from './redis.js';

export const CONFIG_SERVICES = ['ingest', 'triage', 'executor', 'notifier'] as const;
export type ConfigService = (typeof CONFIG_SERVICES)[number];

const publishedFileSchema = z.object({
  /** Null while no text of the file has validated. */
  version: configVersionSchema.nullable(),
  refused: configRefusalSchema.optional(),
  /** False for files read only at start: a change needs a restart. */
  reloads: z.boolean(),
});
export type PublishedConfigFile = z.infer<typeof publishedFileSchema>;
const publishedSchema = z.record(z.string(), publishedFileSchema);
/** One service's config files by their env name (`TARGETS_FILE`, `POLICY_FILE`, …). */
export type PublishedConfig = z.infer<typeof publishedSchema>;

export interface ServiceConfigFiles {
  watched: Record<string, WatchedConfig<unknown>>;
  /** Read once at start. */
  fixed?: Record<string, ConfigVersion>;
}

function describe({ watched, fixed = {} }: ServiceConfigFiles): PublishedConfig {
  const files: PublishedConfig = {};
  for (const [name, config] of Object.entries(watched))
    files[name] = {
      version: config.version ?? null,
      ...(config.refused ? { refused: config.refused } : {}),
      reloads: true,
    };
  for (const [name, version] of Object.entries(fixed)) files[name] = { version, reloads: false };
  return files;
}

/**
 * Publishes which version of each config file this service runs, now and after every reload, under
 * the service's own key (one its Redis ACL user may write).
 */
export function publishConfigVersions(
  redis: RedisConnection,
  keys: Keyspace,
  service: ConfigService,
  files: ServiceConfigFiles,
  logger: Logger,
): Promise<void> {
  const publish = () =>
    redis
      .set(keys.configVersion(service), JSON.stringify(describe(files)))
      .then(() => undefined)
      .catch((error: Error) => logger.warn({ err: error.message }, 'config versions not published'));
  for (const config of Object.values(files.watched)) config.onReload(() => void publish());
  return publish();
}

/** Each service's published config files; null for a service that has published none (or garbage). */
export async function readConfigVersions(
  redis: RedisConnection,
  keys: Keyspace,
): Promise<Record<ConfigService, PublishedConfig | null>> {
  const raw = await redis.mget(...CONFIG_SERVICES.map((service) => keys.configVersion(service)));
  return Object.fromEntries(
    CONFIG_SERVICES.map((service, index) => [service, parsePublished(raw[index] ?? null)]),
  ) as Record<ConfigService, PublishedConfig | null>;
}

function parsePublished(raw: string | null): PublishedConfig | null {
  if (raw === null) return null;
  try {
    const parsed = publishedSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** `executor TARGETS_FILE config/targets.yaml: sha 3f2a9c1b4e5d, loaded 2026-12-07 12:03:10Z` (and a refusal). */
export function describeConfigFiles(config: Record<ConfigService, PublishedConfig | null>): string[] {
  return CONFIG_SERVICES.flatMap((service) =>
    Object.entries(config[service] ?? {}).map(([name, file]) => `${service} ${name} ${describeFile(file)}`),
  );
}

function describeFile({ version, refused, reloads }: PublishedConfigFile): string {
  if (!version) return `not loaded${refused ? `: ${refused.error}` : ''}`;
  const loaded = `${version.file}: sha ${version.sha256.slice(0, 12)}, loaded ${version.loadedAt.replace('T', ' ').slice(0, 19)}Z${
    reloads ? '' : ' (read at start; restart to change)'
  }`;
  return refused ? `${loaded}; newer text refused at ${refused.at}: ${refused.error}` : loaded;
}
