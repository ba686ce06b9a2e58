import { z } from 'zod';
import { HermesError } from '../../../shared/errors.js';

const sampleSchema = z.tuple([z.number(), z.string()]);
const responseSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({
        resultType: z.literal('vector'),
        result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sampleSchema })),
      }),
      z.object({
        resultType: z.literal('matrix'),
        result: z.array(
          z.object({ metric: z.record(z.string(), z.string()), values: z.array(sampleSchema) }),
        ),
      }),
      z.object({ resultType: z.literal('scalar'), result: sampleSchema }),
      z.object({ resultType: z.literal('string'), result: sampleSchema }),
    ]),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string() }),
]);
export type PromData = Extract<z.infer<typeof responseSchema>, { status: 'success' }>['data'];

export class PrometheusError extends HermesError {}

/** The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), responses validated. */
export class PrometheusClient {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  async instant(query: string): Promise<PromData> {
    return this.call('/api/v1/query', { query });
  }

  /** Range query ending now; about 60 points over the window. */
  async range(query: string, seconds: number): Promise<PromData> {
    const end = Date.now() / 1000;
    const step = Math.max(1, Math.ceil(seconds / 60));
    return this.call('/api/v1/query_range', {
      query,
      start: String(end - seconds),
      end: String(end),
      step: String(step),
    });
  }

  private async call(path: string, params: Record<string, string>): Promise<PromData> {
    const response = await fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PrometheusError(`Prometheus answered ${response.status} with a non-JSON body`);
    }
    const parsed = responseSchema.safeParse(json);
    if (!parsed.success) throw new PrometheusError(`unexpected Prometheus response (${response.status})`);
    if (parsed.data.status === 'error') throw new PrometheusError(`Prometheus error: ${parsed.data.error}`);
    return parsed.data.data;
  }
}

export function parseDurationSeconds(duration: string): number {
  const match = /^(\d+)([smhd])$/.exec(duration);
  if (!match) throw new PrometheusError(`bad duration ${duration}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** True when an instant query returned at least one sample (an alert expression still matches). */
export function hasSamples(data: PromData): boolean {
  return (data.resultType === 'vector' || data.resultType === 'matrix') && data.result.length > 0;
}

/** Compact, model-friendly view: each series with its latest value (and min/max over a range). */
export function summarise(data: PromData): unknown {
  switch (data.resultType) {
    case 'vector':
      return data.result.map((s) => ({ metric: s.metric, value: s.value[1] }));
    case 'matrix':
      return data.result.map((s) => {
        const values = s.values.map(([, v]) => Number(v));
        return {
          metric: s.metric,
          latest: s.values.at(-1)?.[1],
          min: Math.min(...values),
          max: Math.max(...values),
          points: values.length,
        };
      });
    default:
      return { value: data.result[1] };
  }
}

/** A regex matcher for an instance given as a bare host or host:port. */
export function instanceMatcher(host: string): string {
  const bare = host.replace(/:\d+$/, '');
  const escaped = bare.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
  return `instance=~"${escaped}(:[0-9]+)?"`;
}

/** Alertmanager's generatorURL carries the alert expression as `g0.expr`. */
export function alertExpression(generatorURL: string): string | null {
  try {
    return new URL(generatorURL).searchParams.get('g0.expr');
  } catch {
    return null;
  }
}
