import { z } from 'zod';

/** The closed list of root-cause categories the model picks from (the eval scores on it exactly). */
export const ROOT_CAUSE_CATEGORIES = [
  'disk-full',
  'crash-loop',
  'oom',
  'memory-leak',
  'connection-pool',
  'queue-backlog',
  'dependency-latency',
  'dependency-down',
  'bad-deploy',
  'bad-pod',
  'config-error',
  'certificate-expiry',
  'resource-saturation',
  'network',
  'security-intrusion',
  'failover',
  'data-corruption',
  'transient',
  'none',
] as const;
export const rootCauseCategorySchema = z.enum(ROOT_CAUSE_CATEGORIES);

/** The structured root cause the model ends its final answer with. */
export const diagnosisSchema = z.strictObject({
  entity: z.string().min(1).max(500),
  category: rootCauseCategorySchema,
  evidence: z.string().min(1).max(2_000),
});
export type Diagnosis = z.infer<typeof diagnosisSchema>;

const DIAGNOSIS_BLOCK = /<diagnosis>\s*([\s\S]*?)\s*<\/diagnosis>/;

export type ParsedAnswer = {
  /** The answer's prose, without the diagnosis block. */
  prose: string;
  diagnosis?: Diagnosis;
  /** Why the answer has no valid diagnosis (none given, not JSON, wrong shape). */
  diagnosisError?: string;
};

/** Splits a final answer into its prose and its `<diagnosis>{…}</diagnosis>` block, validated. */
export function parseFinalAnswer(text: string): ParsedAnswer {
  const match = DIAGNOSIS_BLOCK.exec(text);
  if (!match) return { prose: text, diagnosisError: 'the answer has no <diagnosis> block' };
  const prose = text.replace(DIAGNOSIS_BLOCK, '').trim();
  let value: unknown;
  try {
    value = JSON.parse(match[1] ?? '');
  } catch (error) {
    return { prose, diagnosisError: `diagnosis is not valid JSON: ${(error as Error).message}` };
  }
  const parsed = diagnosisSchema.safeParse(value);
  if (!parsed.success)
    return {
      prose,
      diagnosisError: `invalid diagnosis: ${parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ')}`,
    };
  return { prose, diagnosis: parsed.data };
}

/** The diagnosis in words, for the human reading the incident's summary. */
export function describeDiagnosis(diagnosis: Diagnosis): string {
  return `Root cause: ${diagnosis.entity} (${diagnosis.category}): ${diagnosis.evidence}`;
}
