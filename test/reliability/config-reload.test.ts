import { createHash } from 'node:crypto';
import { linkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishedConfigFile } from '../../shared/config-versions.js';
import { eventually } from '../support/redis.js';
import { type LocalRedis, startRedisServer } from '../support/redis-server.js';
import { type RunningService, startService, tempDir } from './processes.js';

const targetsText = (instance: string) =>
  `version: 1\ntargets:\n  - name: ${instance}\n    kind: local\n    match: { instance: ${instance} }\n`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('SIGHUP re-reads the config files of a running service process', () => {
  let redis: LocalRedis;
  let ingest: RunningService;
  let configDir: string;
  let elsewhere: string;
  const targetsFile = () => join(configDir, 'targets.yaml');

  beforeAll(async () => {
    configDir = tempDir('reload');
    elsewhere = tempDir('reload-link');
    writeFileSync(targetsFile(), targetsText('box-a'));
    redis = await startRedisServer();
    ingest = await startService('ingest', {
      REDIS_URL: redis.url,
      HERMES_PREFIX: 'relreload',
      TARGETS_FILE: targetsFile(),
    });
  });
  afterAll(async () => {
    await ingest?.stop();
    await redis?.stop();
    for (const dir of [configDir, elsewhere]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const published = async (): Promise<PublishedConfigFile | undefined> => {
    const automation = (await (await fetch(`${ingest.url}/api/automation`)).json()) as {
      config: { ingest: Record<string, PublishedConfigFile> | null };
    };
    return automation.config.ingest?.TARGETS_FILE;
  };

  it('GET /api/automation names the file, its sha256 and when it was loaded; SIGHUP loads a new text', async () => {
    const first = await published();
    expect(first).toMatchObject({
      version: { file: targetsFile(), sha256: sha256(targetsText('box-a')) },
      reloads: true,
    });
    expect(Date.parse(first?.version?.loadedAt ?? '')).not.toBeNaN();

    // Written through a hard link in another directory: the same file, but no event in the watched
    // directory, so only the signal can make ingest read it.
    const link = join(elsewhere, 'targets.yaml');
    linkSync(targetsFile(), link);
    writeFileSync(link, targetsText('box-b'));
    ingest.child.kill('SIGHUP');

    const second = await eventually(async () => {
      const file = await published();
      return file?.version?.sha256 === sha256(targetsText('box-b')) && file;
    }, 'ingest to publish the text read on SIGHUP');
    expect(second.version?.file).toBe(targetsFile());
    expect(ingest.child.exitCode).toBeNull();
    expect(ingest.output()).toContain('TARGETS_FILE reloaded');
  });

  it('a service that follows no file (the notifier without NOTIFIER_ROUTES_FILE) keeps running through SIGHUP', async () => {
    const notifier = await startService('notifier', { REDIS_URL: redis.url, HERMES_PREFIX: 'relreload' });
    try {
      notifier.child.kill('SIGHUP');
      await eventually(
        async () => notifier.output().includes('config files that reload read again'),
        'the notifier to log the signal',
      );
      expect(notifier.child.exitCode).toBeNull();
      expect(notifier.child.signalCode).toBeNull();
    } finally {
      await notifier.stop();
    }
  });
});
