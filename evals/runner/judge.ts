import OpenAI from 'openai';
import { z } from 'zod';
import { redactSecret } from '../../shared/redact.js';
import type { WorldOutcome } from './run-world.js';
import type { World } from './world.js';

export interface JudgeSettings {
  baseURL: string;
  apiKey: string;
  model: string;
  timeoutMs: number;
}

const verdictSchema = z.object({ grade: z.number().int().min(1).max(5), why: z.string().min(1).max(1_000) });
export type JudgeVerdict = z.infer<typeof verdictSchema> | { error: string };

const INSTRUCTIONS = `You grade an incident responder's written summary. Given the incident, the true root
cause and the summary, answer only JSON {"grade": 1-5, "why": "one sentence"}: 5 = names the true
root cause with its evidence and says clearly what was done and what a human must do; 1 = wrong or empty.`;

/**
 * The optional LLM-as-judge: grades the narrative of a run on any OpenAI-compatible endpoint. Its
 * grade is reported beside the deterministic scores and never changes whether a world passed.
 */
export async function judgeNarrative(
  settings: JudgeSettings,
  world: World,
  outcome: WorldOutcome,
): Promise<JudgeVerdict> {
  const client = new OpenAI({
    baseURL: settings.baseURL,
    apiKey: settings.apiKey,
    timeout: settings.timeoutMs,
    maxRetries: 1,
  });
  try {
    const response = await client.chat.completions.create({
      model: settings.model,
      temperature: 0,
      messages: [
        { role: 'system', content: INSTRUCTIONS },
        {
          role: 'user',
          content: JSON.stringify({
            incident: world.title,
            trueRootCause: world.expect.rootCause,
            summary: outcome.summary,
            diagnosis: outcome.diagnosis ?? null,
          }),
        },
      ],
    });
    const content = response.choices[0]?.message.content ?? '';
    const json = /\{[\s\S]*\}/.exec(content)?.[0] ?? '';
    const parsed = verdictSchema.safeParse(JSON.parse(json || 'null'));
    return parsed.success
      ? parsed.data
      : { error: `judge answered no valid grade: ${content.slice(0, 200)}` };
  } catch (error) {
    return { error: `judge failed: ${redactSecret((error as Error).message, settings.apiKey)}` };
  }
}
