import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

/** V8 heap in use (MiB, after a full GC) after each storm of 10,000 new alerts through ingest's webhook. */
export async function benchIngestHeap(): Promise<number[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', resolve(import.meta.dirname, 'ingest-heap-child.ts')],
    { cwd: resolve(import.meta.dirname, '..'), maxBuffer: 1 << 20 },
  );
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(last) as { heapMiB: number[] }).heapMiB;
}
