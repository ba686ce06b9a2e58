import { z } from 'zod';
import { type Level, levelSchema, SEVERITY_RANK } from '../../shared/schemas/incident.js';
import { loadYamlConfig, parseYamlConfig } from '../../shared/yaml-config.js';

/** The design's default alertname → level table. Unknown alertnames get `defaultLevel`. */
export const DEFAULT_LEVELS: Record<string, Level> = {
  DiskSpaceLow: 1,
  ServiceDown: 1,
  InstanceDown: 1,
  DBConnectionPoolExhausted: 1,
  QueueBacklog: 1,
  HighLatency: 2,
  ResponseTimeHigh: 2,
  MemoryGrowth: 2,
  HighErrorRate: 2,
  DatabaseFailover: 3,
  SecurityIntrusion: 3,
  LargeScaleDegradation: 3,
};

/** In the file: 1, 2 or 3 (its error lists them). */
const fileLevelSchema = z.literal([1, 2, 3]);

export const classificationFileSchema = z
  .object({
    default_level: fileLevelSchema.default(2),
    levels: z.record(z.string(), fileLevelSchema).default({}),
  })
  .strict();

export interface Classifier {
  level(labels: Record<string, string>): Level;
}

const WHAT = 'classification (CLASSIFICATION_FILE)';

export function createClassifier(file?: string): Classifier {
  return classifierOf(file ? loadClassificationFile(file) : classificationFileSchema.parse({}));
}

/** CLASSIFICATION_FILE's text; a bad one is refused with the file, line and problem. */
export function parseClassifier(text: string, path: string): Classifier {
  return classifierOf(parseYamlConfig(text, path, classificationFileSchema, WHAT));
}

function classifierOf(config: z.infer<typeof classificationFileSchema>): Classifier {
  // A Map, not an object: an alertname like `constructor` is data, not a prototype lookup.
  const table = new Map<string, Level>(Object.entries({ ...DEFAULT_LEVELS, ...config.levels }));
  return {
    level(labels) {
      if (labels.automation_level !== undefined) {
        const override = levelSchema.safeParse(Number(labels.automation_level));
        if (override.success) return override.data;
      }
      return table.get(labels.alertname ?? '') ?? config.default_level;
    },
  };
}

/** CLASSIFICATION_FILE; a bad one stops ingest with the file, line and problem. */
function loadClassificationFile(file: string) {
  return loadYamlConfig(file, classificationFileSchema, WHAT);
}

/** BullMQ priority (1 = first): level 3 first, then by severity, then level 1 before level 2. */
export function priorityFor(level: Level, severity: string): number {
  if (level === 3) return 1;
  const rank = Object.hasOwn(SEVERITY_RANK, severity) ? (SEVERITY_RANK[severity] as number) : 3;
  return 2 + rank * 2 + (level - 1);
}
