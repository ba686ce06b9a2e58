import { redactSecret, redactUrlCredentials } from './redact.js';

export type ModelProbe = { ok: true } | { ok: false; reason: string };

/** Whether an OpenAI-compatible endpoint answers `GET /models`, and if not, why (secrets redacted). */
export async function probeModel(
  baseUrl: string,
  apiKey: string | undefined,
  timeoutMs: number,
): Promise<ModelProbe> {
  const url = `${baseUrl.replace(/\/$/, '')}/models`;
  try {
    const res = await fetch(url, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return res.ok
      ? { ok: true }
      : { ok: false, reason: `GET ${redactUrlCredentials(url)} answered ${res.status}` };
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    return { ok: false, reason: redactSecret(redactUrlCredentials(`GET ${url}: ${cause}`), apiKey) };
  }
}
