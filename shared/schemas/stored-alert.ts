import { z } from 'zod';
import { alertSchema } from './alertmanager.js';

const { status, fingerprint, startsAt, endsAt, labels, annotations, generatorURL } = alertSchema.shape;

/**
 * How an accepted alert is kept in its incident's alerts hash (field: its fingerprint): Alertmanager's
 * alert as an array in this order. Every alert ever accepted is kept this way, so the array's size
 * matters: a third fewer bytes than the object in Redis' memory, AOF and rewrites. Last, startsAt in
 * epoch ms where it is an RFC 3339 time (what intake tells a late re-send of an earlier episode by;
 * alerts stored before it was kept lack it).
 */
export const storedAlertSchema = z.tuple([
  status,
  fingerprint,
  startsAt,
  endsAt,
  labels,
  annotations,
  generatorURL,
  z.number().optional(),
]);
export type StoredAlert = z.infer<typeof storedAlertSchema>;
