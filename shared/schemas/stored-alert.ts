import { z } from 'zod';
import { alertSchema } from './alertmanager.js';

const { status, fingerprint, startsAt, endsAt, labels, annotations, generatorURL } = alertSchema.shape;

/**
 * How an accepted alert is kept in its incident's alerts hash (field: its fingerprint): Alertmanager's
 * alert as an array in this order. Every alert ever accepted is kept this way, so the array's size
 * matters: a third fewer bytes than the object in Redis' memory, AOF and rewrites.
 */
export const storedAlertSchema = z.tuple([
  status,
  fingerprint,
  startsAt,
  endsAt,
  labels,
  annotations,
  generatorURL,
]);
export type StoredAlert = z.infer<typeof storedAlertSchema>;
